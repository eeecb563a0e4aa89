package compat

import (
	"io/fs"
	"syscall"

	glua "github.com/yuin/gopher-lua"
)

// statFields adds what only stat(2) knows to lfs.attributes' table.
func statFields(attrs *glua.LTable, fi fs.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	attrs.RawSetString("dev", glua.LNumber(st.Dev))
	attrs.RawSetString("ino", glua.LNumber(st.Ino))
	attrs.RawSetString("nlink", glua.LNumber(st.Nlink))
	attrs.RawSetString("uid", glua.LNumber(st.Uid))
	attrs.RawSetString("gid", glua.LNumber(st.Gid))
	attrs.RawSetString("rdev", glua.LNumber(st.Rdev))
	attrs.RawSetString("access", glua.LNumber(st.Atim.Sec))
	attrs.RawSetString("change", glua.LNumber(st.Ctim.Sec))
	attrs.RawSetString("blocks", glua.LNumber(st.Blocks))
	attrs.RawSetString("blksize", glua.LNumber(st.Blksize))
}
