package compat

import (
	"golang.org/x/sys/unix"
)

// rlimInfinity is getrlimit's "no limit".
const rlimInfinity = unix.RLIM_INFINITY

// uname returns uname(2)'s fields under the names Prosody's pposix uses.
func uname() (map[string]string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, err
	}
	return map[string]string{
		"sysname":    unix.ByteSliceToString(u.Sysname[:]),
		"nodename":   unix.ByteSliceToString(u.Nodename[:]),
		"release":    unix.ByteSliceToString(u.Release[:]),
		"version":    unix.ByteSliceToString(u.Version[:]),
		"machine":    unix.ByteSliceToString(u.Machine[:]),
		"domainname": unix.ByteSliceToString(u.Domainname[:]),
	}, nil
}

// rlimits are the resources Prosody's getrlimit knows, by its names.
var rlimits = map[string]int{
	"CORE":    unix.RLIMIT_CORE,
	"CPU":     unix.RLIMIT_CPU,
	"DATA":    unix.RLIMIT_DATA,
	"FSIZE":   unix.RLIMIT_FSIZE,
	"NOFILE":  unix.RLIMIT_NOFILE,
	"STACK":   unix.RLIMIT_STACK,
	"MEMLOCK": unix.RLIMIT_MEMLOCK,
	"NPROC":   unix.RLIMIT_NPROC,
	"RSS":     unix.RLIMIT_RSS,
	"NICE":    unix.RLIMIT_NICE,
}

func getrlimit(name string) (soft, hard uint64, ok bool) {
	resource, known := rlimits[name]
	if !known {
		return 0, 0, false
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(resource, &lim); err != nil {
		return 0, 0, false
	}
	return lim.Cur, lim.Max, true
}
