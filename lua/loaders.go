package lua

import (
	"fmt"
	"os"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// OpenLoaders replaces every way Lua code can load Lua code (loadstring,
// load, loadfile, dofile and require's search of package.path) with versions
// that compile through Load, so code a plugin loads at run time gets the same
// fixes as the plugin itself. Messages and results follow Lua 5.1, with
// load also accepting a string and an environment as Lua 5.2 does.
func OpenLoaders(L *glua.LState) {
	L.SetGlobal("loadstring", L.NewFunction(luaLoadString))
	L.SetGlobal("load", L.NewFunction(luaLoad))
	L.SetGlobal("loadfile", L.NewFunction(luaLoadFile))
	L.SetGlobal("dofile", L.NewFunction(luaDoFile))
	// require walks the loaders table the package library registered (the
	// same table as package.loaders); its second entry searches package.path.
	if loaders, ok := L.G.Registry.RawGetString("_LOADERS").(*glua.LTable); ok {
		loaders.RawSetInt(2, L.NewFunction(luaSearchPath))
	}
}

// pushLoaded returns load's results: the function, or nil and the message.
func pushLoaded(L *glua.LState, fn *glua.LFunction, err error) int {
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(SyntaxHint(err).Error()))
		return 2
	}
	L.Push(fn)
	return 1
}

// loadstring(s [, chunkname])
func luaLoadString(L *glua.LState) int {
	fn, err := Load(L, L.CheckString(1), L.OptString(2, "<string>"))
	return pushLoaded(L, fn, err)
}

// load(chunk [, chunkname [, mode [, env]]]): chunk is a string or a function
// returning pieces until nil or "".
func luaLoad(L *glua.LState) int {
	var src string
	switch chunk := L.Get(1).(type) {
	case glua.LString:
		src = string(chunk)
	case *glua.LFunction:
		var b strings.Builder
		for {
			L.Push(chunk)
			L.Call(0, 1)
			piece := L.Get(-1)
			L.Pop(1)
			if piece == glua.LNil {
				break
			}
			s, ok := piece.(glua.LString)
			if !ok {
				if n, isNum := piece.(glua.LNumber); isNum {
					s, ok = glua.LString(n.String()), true
				}
			}
			if !ok {
				L.Push(glua.LNil)
				L.Push(glua.LString("reader function must return a string"))
				return 2
			}
			if s == "" {
				break
			}
			b.WriteString(string(s))
		}
		src = b.String()
	default:
		L.ArgError(1, "string or function expected, got "+L.Get(1).Type().String())
	}
	defaultName := "(load)"
	if _, isString := L.Get(1).(glua.LString); isString {
		defaultName = "<string>"
	}
	fn, err := Load(L, src, L.OptString(2, defaultName))
	if err == nil && L.GetTop() >= 4 {
		if env, ok := L.Get(4).(*glua.LTable); ok {
			fn.Env = env
		}
	}
	return pushLoaded(L, fn, err)
}

// loadFile compiles the file at path, named by its path as Lua does.
func loadFile(L *glua.LState, path string) (*glua.LFunction, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s", path)
	}
	// A first line starting with # (a shebang) is skipped, as lua does.
	if len(src) > 0 && src[0] == '#' {
		src = append([]byte("--"), src...)
	}
	return Load(L, string(src), path)
}

// loadfile(path [, mode [, env]])
func luaLoadFile(L *glua.LState) int {
	fn, err := loadFile(L, L.CheckString(1))
	if err == nil && L.GetTop() >= 3 {
		if env, ok := L.Get(3).(*glua.LTable); ok {
			fn.Env = env
		}
	}
	return pushLoaded(L, fn, err)
}

// dofile(path) runs the file and returns what it returns; errors propagate.
func luaDoFile(L *glua.LState) int {
	path := L.CheckString(1)
	fn, err := loadFile(L, path)
	if err != nil {
		L.Error(glua.LString(SyntaxHint(err).Error()), 0)
	}
	top := L.GetTop()
	L.Push(fn)
	L.Call(0, glua.MultRet)
	return L.GetTop() - top
}

// luaSearchPath is require's searcher of package.path: it returns the loader
// of the first file a template names, or the list of files it tried.
func luaSearchPath(L *glua.LState) int {
	name := L.CheckString(1)
	pkg, _ := L.GetGlobal("package").(*glua.LTable)
	if pkg == nil {
		L.RaiseError("package is not a table")
	}
	path, ok := pkg.RawGetString("path").(glua.LString)
	if !ok {
		L.RaiseError("package.path must be a string")
	}
	file := strings.ReplaceAll(name, ".", string(os.PathSeparator))
	var tried strings.Builder
	for _, template := range strings.Split(string(path), ";") {
		if template == "" {
			continue
		}
		candidate := strings.ReplaceAll(template, "?", file)
		if st, err := os.Stat(candidate); err != nil || st.IsDir() {
			fmt.Fprintf(&tried, "\n\tno file '%s'", candidate)
			continue
		}
		fn, err := loadFile(L, candidate)
		if err != nil {
			L.Error(glua.LString(fmt.Sprintf("error loading module '%s' from file '%s':\n\t%s", name, candidate, SyntaxHint(err).Error())), 0)
		}
		L.Push(fn)
		return 1
	}
	L.Push(glua.LString(tried.String()))
	return 1
}
