package compat

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// openLFS is LuaFileSystem ("lfs"), which Prosody depends on and plugins
// such as mod_http_files require for what Lua's io cannot tell: whether a
// path is a directory, what a directory holds, a file's times. It covers
// attributes, symlinkattributes, dir, currentdir, mkdir, rmdir and touch,
// with LuaFileSystem's results: nil, message, errno on failure. chdir and
// the locking functions are left out: the process's working directory and
// file locks are shared by every plugin of the one Lua state.
func openLFS(L *glua.LState) int {
	mod := L.NewTable()
	L.SetFuncs(mod, map[string]glua.LGFunction{
		"attributes":        func(L *glua.LState) int { return lfsAttributes(L, os.Stat) },
		"symlinkattributes": func(L *glua.LState) int { return lfsAttributes(L, os.Lstat) },
		"dir":               lfsDir,
		"currentdir": func(L *glua.LState) int {
			dir, err := os.Getwd()
			if err != nil {
				return lfsFailure(L, "", err)
			}
			L.Push(glua.LString(dir))
			return 1
		},
		"mkdir": func(L *glua.LState) int {
			return lfsResult(L, os.Mkdir(L.CheckString(1), 0o777))
		},
		"rmdir": func(L *glua.LState) int {
			return lfsResult(L, syscall.Rmdir(L.CheckString(1)))
		},
		"touch": lfsTouch,
	})
	mod.RawSetString("_VERSION", glua.LString("LuaFileSystem 1.8.0 (modhost)"))
	L.Push(mod)
	return 1
}

// lfsFailure pushes nil, message, errno, as LuaFileSystem fails; message
// is prefix followed by strerror's text (none for a bare prefix "").
func lfsFailure(L *glua.LState, prefix string, err error) int {
	L.Push(glua.LNil)
	cause := err
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		cause = pathErr.Err
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		cause = linkErr.Err
	}
	L.Push(glua.LString(prefix + strerror(cause)))
	var errno syscall.Errno
	if errors.As(err, &errno) {
		L.Push(glua.LNumber(errno))
	} else {
		L.Push(glua.LNumber(0))
	}
	return 3
}

// strerror is the C library's text for err: Go's, with a capital.
func strerror(err error) string {
	msg := err.Error()
	if msg != "" && 'a' <= msg[0] && msg[0] <= 'z' {
		msg = string(msg[0]-'a'+'A') + msg[1:]
	}
	return msg
}

func lfsResult(L *glua.LState, err error) int {
	if err != nil {
		return lfsFailure(L, "", err)
	}
	L.Push(glua.LTrue)
	return 1
}

func modeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "link"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeCharDevice != 0:
		return "char device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "other"
}

// permissions is the rwx string LuaFileSystem gives ("rwxr-xr-x").
func permissions(m fs.FileMode) string {
	const rwx = "rwxrwxrwx"
	out := []byte("---------")
	for i := range 9 {
		if m&(1<<uint(8-i)) != 0 {
			out[i] = rwx[i]
		}
	}
	return string(out)
}

// lfsAttributes is attributes(path [, name | table]).
func lfsAttributes(L *glua.LState, stat func(string) (fs.FileInfo, error)) int {
	path := L.CheckString(1)
	fi, err := stat(path)
	if err != nil {
		return lfsFailure(L, "cannot obtain information from file '"+path+"': ", err)
	}
	attrs := L.NewTable()
	if t, ok := L.Get(2).(*glua.LTable); ok {
		attrs = t
	}
	attrs.RawSetString("mode", glua.LString(modeName(fi.Mode())))
	attrs.RawSetString("size", glua.LNumber(fi.Size()))
	attrs.RawSetString("modification", glua.LNumber(fi.ModTime().Unix()))
	attrs.RawSetString("permissions", glua.LString(permissions(fi.Mode().Perm())))
	attrs.RawSetString("access", glua.LNumber(fi.ModTime().Unix()))
	attrs.RawSetString("change", glua.LNumber(fi.ModTime().Unix()))
	statFields(attrs, fi)
	if name, ok := L.Get(2).(glua.LString); ok {
		L.Push(attrs.RawGetString(string(name)))
		return 1
	}
	L.Push(attrs)
	return 1
}

// lfsDir is dir(path): an iterator over the names in a folder, "." and ".."
// included as LuaFileSystem lists them, and the directory object.
func lfsDir(L *glua.LState) int {
	path := L.CheckString(1)
	entries, err := os.ReadDir(path)
	if err != nil {
		var pathErr *fs.PathError
		cause := err
		if errors.As(err, &pathErr) {
			cause = pathErr.Err
		}
		L.RaiseError("cannot open %s: %s", path, strerror(cause))
		return 0
	}
	names := []string{".", ".."}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	next := 0
	closed := false
	iter := func(L *glua.LState) int {
		if closed || next >= len(names) {
			closed = true
			return 0
		}
		L.Push(glua.LString(names[next]))
		next++
		return 1
	}
	dirObj := L.NewTable()
	dirObj.RawSetString("next", L.NewFunction(func(L *glua.LState) int { return iter(L) }))
	dirObj.RawSetString("close", L.NewFunction(func(L *glua.LState) int { closed = true; return 0 }))
	L.Push(L.NewFunction(iter))
	L.Push(dirObj)
	return 2
}

// lfsTouch is touch(path [, atime [, mtime]]): times default to now, mtime
// to atime.
func lfsTouch(L *glua.LState) int {
	path := L.CheckString(1)
	now := time.Now()
	atime := now
	if L.Get(2) != glua.LNil {
		atime = time.Unix(int64(L.CheckNumber(2)), 0)
	}
	mtime := atime
	if L.Get(3) != glua.LNil {
		mtime = time.Unix(int64(L.CheckNumber(3)), 0)
	}
	return lfsResult(L, os.Chtimes(path, atime, mtime))
}
