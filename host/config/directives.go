package config

import (
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// newEnv builds the environment one config file runs in, as Prosody 0.12's
// parser does: the section directives and helpers are fields of it, an
// assignment to any other name sets an option of the current section, and
// reading any other name gives ENV_X → $X, else the global of that name
// (rawget(_G, name) in Prosody). Reading an option back by name therefore
// gives nil in 0.12, unless the name is also a global; _G.x = v sets a
// global, which later reads of x see, and no option.
func (ld *loader) newEnv(file string) *glua.LTable {
	L := ld.L
	sc := &scope{file: file, current: "*", seen: map[string]bool{}}
	env := L.NewTable()
	directives := map[string]glua.LGFunction{
		"VirtualHost":  ld.virtualHost(sc),
		"Component":    ld.component(sc),
		"Include":      ld.include(sc),
		"RunScript":    ld.runScript(sc),
		"FileContents": ld.fileContents(sc),
		"FileLine":     ld.fileLine(sc),
		"FileLines":    ld.fileLines(sc),
		"Credential":   ld.credential(),
	}
	for name, fn := range directives {
		env.RawSetString(name, L.NewFunction(fn))
	}
	env.RawSetString("Host", env.RawGetString("VirtualHost"))
	env.RawSetString("host", env.RawGetString("VirtualHost"))
	env.RawSetString("component", env.RawGetString("Component"))
	env.RawSetString("include", env.RawGetString("Include"))
	env.RawSetString("Lua", ld.globals)

	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		key := L.Get(2)
		if name, ok := key.(glua.LString); ok && strings.HasPrefix(string(name), "ENV_") {
			if v, ok := os.LookupEnv(string(name)[len("ENV_"):]); ok {
				L.Push(glua.LString(v))
				return 1
			}
			L.Push(glua.LNil)
			return 1
		}
		L.Push(ld.globals.RawGet(key))
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		key, value := L.Get(2), L.Get(3)
		path := sc.current + "/" + key.String()
		if sc.seen[path] {
			ld.warn("Duplicate option '%s'", key.String())
		}
		sc.seen[path] = true
		ld.set(sc.current, key, value)
		return 0
	}))
	env.Metatable = mt
	return env
}

// hostName reads the name argument of VirtualHost or Component.
func (ld *loader) hostName(L *glua.LState, what string) string {
	var name string
	switch v := L.Get(1).(type) {
	case glua.LString:
		name = string(v)
	case glua.LNumber:
		name = v.String()
	case *glua.LNilType:
		ld.raise("%s must have a name", what)
	default:
		ld.raise("%s name must be a string, not a %s", what, v.Type())
	}
	prepped, ok := nameprep(name)
	if !ok {
		ld.raise("Name of %s %q contains forbidden characters", what, name)
	}
	return prepped
}

func (ld *loader) virtualHost(sc *scope) glua.LGFunction {
	return func(L *glua.LState) int {
		name := ld.hostName(L, "Host")
		if p := ld.sections[name]; p != nil && p.section.Kind == Component {
			ld.raise("Host %q clashes with previously defined %s Component %q, for services use a sub-domain like conference.%s",
				name, componentLabel(p), name, name)
		}
		ld.section(name, VirtualHost)
		sc.current = name
		ld.set(name, glua.LString("defined"), glua.LTrue)
		// VirtualHost "name" { options } is the table form.
		L.Push(L.NewFunction(func(L *glua.LState) int {
			sc.current = "*"
			switch v := L.Get(1).(type) {
			case glua.LString:
				ld.raise("VirtualHost entries do not accept a module name (module '%s' provided for host '%s')", string(v), name)
			case *glua.LTable:
				ld.setAll(name, v)
			default:
				ld.raise("Invalid syntax following VirtualHost, expected options but received a %s", v.Type())
			}
			return 0
		}))
		return 1
	}
}

func (ld *loader) component(sc *scope) glua.LGFunction {
	return func(L *glua.LState) int {
		name := ld.hostName(L, "Component")
		if p := ld.sections[name]; p != nil && p.section.Kind == VirtualHost {
			ld.raise("Component %q clashes with previously defined VirtualHost %q, for services use a sub-domain like conference.%s",
				name, name, name)
		}
		ld.section(name, Component)
		ld.set(name, glua.LString("component_module"), glua.LString("component"))
		// Prosody marks components so that they do not get every global
		// module; modulemanager then restricts them (see Modules).
		ld.set(name, glua.LString("load_global_modules"), glua.LFalse)
		sc.current = name
		options := func(v glua.LValue) {
			sc.current = "*"
			t, ok := v.(*glua.LTable)
			if !ok {
				ld.raise("Invalid syntax following Component, expected options but received a %s", v.Type())
			}
			ld.setAll(name, t)
		}
		// Component "name" "module" { options } and Component "name" { options }.
		L.Push(L.NewFunction(func(L *glua.LState) int {
			if module, ok := L.Get(1).(glua.LString); ok {
				ld.set(name, glua.LString("component_module"), module)
				L.Push(L.NewFunction(func(L *glua.LState) int {
					options(L.Get(1))
					return 0
				}))
				return 1
			}
			options(L.Get(1))
			return 0
		}))
		return 1
	}
}

// componentLabel names a component's kind as Prosody's clash message does.
func componentLabel(p *pending) string {
	module := p.options.RawGetString("component_module").String()
	switch module {
	case "component":
		return "external"
	case "muc":
		return "MUC"
	}
	return module
}

func (ld *loader) setAll(host string, t *glua.LTable) {
	t.ForEach(func(k, v glua.LValue) { ld.set(host, k, v) })
}

func (ld *loader) include(sc *scope) glua.LGFunction {
	return func(L *glua.LState) int {
		name, ok := L.Get(1).(glua.LString)
		if !ok {
			ld.raise("Include expects a file name, not a %s", L.Get(1).Type())
		}
		if strings.ContainsAny(string(name), "*?") {
			ld.includeGlob(sc, string(name))
			return 0
		}
		ld.includeFile(resolvePath(dirOf(sc.file), string(name)))
		return 0
	}
}

// includeGlob includes, in name order, the files of one folder whose names
// match the last path element of pattern ('*' any run, '?' one character).
// Hidden files and folders are skipped; a folder that does not exist is an
// error, one where nothing matches is not.
func (ld *loader) includeGlob(sc *scope, pattern string) {
	dir := dirOf(sc.file)
	glob := pattern
	if i := strings.LastIndex(pattern, "/"); i >= 0 {
		glob = pattern[i+1:]
		if i == 0 {
			dir = "/"
		} else {
			dir = resolvePath(dir, pattern[:i])
		}
	}
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		ld.raise("Error expanding wildcard pattern in Include %q: %s", pattern, reason(err))
	}
	match := globRegexp(glob)
	for _, e := range entries { // os.ReadDir sorts by name
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() || !match.MatchString(e.Name()) {
			continue
		}
		ld.includeFile(strings.TrimSuffix(dir, "/") + "/" + e.Name())
	}
}

func globRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s)`)
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// includeFile runs path as a config file of its own: its own environment,
// starting in the global section, sharing the sections of the including one.
func (ld *loader) includeFile(path string) {
	if ld.depth >= maxIncludeDepth {
		ld.raise("Include of %s nested more than %d deep (does a file include itself?)", path, maxIncludeDepth)
	}
	src, err := readConfigFile(path)
	if err != nil {
		ld.raise("Error loading included %s: %s", path, reason(err))
	}
	fn, serr := ld.compile(src, path)
	if serr != nil {
		ld.L.Error(ld.errorValue(serr), 0)
	}
	fn.Env = ld.newEnv(path)
	ld.depth++
	defer func() { ld.depth-- }()
	ld.L.Push(fn)
	ld.L.Call(0, 0)
}

// dirOf is the folder of a config file as Prosody computes it: the path up
// to and including its last '/', "" for a bare file name.
func dirOf(file string) string {
	return file[:strings.LastIndex(file, "/")+1]
}

// resolvePath resolves path against the folder parent as Prosody's
// util.paths.resolve_relative_path does (a leading "./" is dropped, absolute
// paths are kept). A bare parent leaves path relative to the working folder,
// where Prosody would wrongly make it absolute.
func resolvePath(parent, path string) string {
	if strings.HasPrefix(path, "./") {
		path = strings.TrimLeft(path[1:], "/")
	}
	if strings.HasPrefix(path, "/") || parent == "" {
		return path
	}
	return strings.TrimRight(parent, "/") + "/" + path
}

// reason is the part of a file error worth showing after the path.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
