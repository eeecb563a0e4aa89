//go:build !linux

package compat

import "errors"

const rlimInfinity = ^uint64(0)

// uname and getrlimit are only implemented for Linux, where modhost runs
// beside Prosody.
func uname() (map[string]string, error) {
	return nil, errors.New("util.pposix.uname: not implemented on this system")
}

func getrlimit(string) (soft, hard uint64, ok bool) { return 0, 0, false }
