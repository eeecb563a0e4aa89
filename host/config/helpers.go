package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// The value helpers. Prosody 0.12 has RunScript; FileContents, FileLine,
// FileLines, Credential and Lua arrived in Prosody 13 and are offered too: a
// 0.12 config cannot be using those names for anything else (reading them
// there gives nil), and they read files without running anything.
// Relative paths resolve against the folder of the file that calls them, as
// Include does.

// runScript runs a Lua file and returns what it returns. As Prosody's
// dofile does, it runs with the global table: globals it sets are globals
// the config can read afterwards, not options.
func (ld *loader) runScript(sc *scope) glua.LGFunction {
	return func(L *glua.LState) int {
		path := resolvePath(dirOf(sc.file), L.CheckString(1))
		src, err := readConfigFile(path)
		if err != nil {
			ld.raise("RunScript: cannot read %s: %s", path, reason(err))
		}
		fn, serr := ld.compile(src, path)
		if serr != nil {
			L.Error(ld.errorValue(serr), 0)
		}
		top := L.GetTop()
		L.Push(fn)
		L.Call(0, glua.MultRet)
		return L.GetTop() - top
	}
}

// readFile reads name for helper what, raising at the calling line on error.
func (ld *loader) readFile(what, name string) string {
	data, err := readConfigFile(name)
	if err != nil {
		ld.raise("%s: cannot read %s: %s", what, name, reason(err))
	}
	return string(data)
}

// maxFileSize bounds what a config reads from one file.
const maxFileSize = 16 << 20

// readConfigFile reads a regular file of at most maxFileSize bytes: a
// config naming /dev/zero or a FIFO must fail, not hang.
func readConfigFile(name string) ([]byte, error) {
	if err := regularFile(name); err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("larger than %d bytes", maxFileSize)}
	}
	return data, nil
}

// regularFile refuses folders, devices, FIFOs and sockets.
func regularFile(name string) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return &fs.PathError{Op: "read", Path: name, Err: errors.New("not a regular file")}
	}
	return nil
}

// fileContents is FileContents(name): the whole file.
func (ld *loader) fileContents(sc *scope) glua.LGFunction {
	return func(L *glua.LState) int {
		L.Push(glua.LString(ld.readFile("FileContents", resolvePath(dirOf(sc.file), L.CheckString(1)))))
		return 1
	}
}

// fileLine is FileLine(name): the first line, without its line end, as
// Lua's read("*l") gives it (a "\r" before the "\n" stays).
func (ld *loader) fileLine(sc *scope) glua.LGFunction {
	return func(L *glua.LState) int {
		name := resolvePath(dirOf(sc.file), L.CheckString(1))
		data := ld.readFile("FileLine", name)
		if data == "" {
			ld.raise("FileLine: %s is empty", name)
		}
		line, _, _ := strings.Cut(data, "\n")
		L.Push(glua.LString(line))
		return 1
	}
}

// fileLines is FileLines(name): a list of the file's lines, as io.lines
// gives them (no empty entry after a final line end).
func (ld *loader) fileLines(sc *scope) glua.LGFunction {
	return func(L *glua.LState) int {
		data := ld.readFile("FileLines", resolvePath(dirOf(sc.file), L.CheckString(1)))
		t := L.NewTable()
		if data != "" {
			for _, line := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
				t.Append(glua.LString(line))
			}
		}
		L.Push(t)
		return 1
	}
}

// credential is Credential(name): the file name in systemd's
// $CREDENTIALS_DIRECTORY.
func (ld *loader) credential() glua.LGFunction {
	return func(L *glua.LState) int {
		name := L.CheckString(1)
		dir := os.Getenv("CREDENTIALS_DIRECTORY")
		if dir == "" {
			ld.raise("Credential() requires the $CREDENTIALS_DIRECTORY environment variable to be set")
		}
		L.Push(glua.LString(ld.readFile("Credential", resolvePath(dir+"/", name))))
		return 1
	}
}
