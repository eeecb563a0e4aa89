package config

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/modhost/modhost/lua"
)

// maxIncludeDepth stops Include loops: Prosody would recurse until its stack
// overflowed.
const maxIncludeDepth = 16

// maxBuiltStrings bounds the bytes of all the strings a config builds (with
// .., table.concat, string.rep, string.format, string.gsub); no one string
// may be longer than maxFileSize, what the config may read from one file.
// Go cannot recover from running out of memory, and one line of a config
// can ask for terabytes before the time bound bites.
const maxBuiltStrings = 256 << 20

// loader is the state of one Load: the Lua state running the files and the
// sections they have declared so far, with their options still as Lua values.
type loader struct {
	L        *glua.LState
	ctx      context.Context
	main     string
	sections map[string]*pending
	order    []*pending // file order of first declaration; order[0] is "*"
	files    []string   // chunk names run so far, to find positions in messages
	depth    int
	warnings []string
	globals  *glua.LTable // what names not set by the config resolve to: _G
	errMeta  *glua.LTable // metatable of the userdata carrying an *Error
	opts     Options
	logs     []LogLine
}

// pending is a section while the config runs.
type pending struct {
	section *Section
	options *glua.LTable
}

// scope is one running file: Prosody gives every file, included ones too, its
// own environment that starts in the global section.
type scope struct {
	file    string
	current string          // section that assignments go to
	seen    map[string]bool // "host/option" already set in this file
}

func run(ctx context.Context, src []byte, filename string, opts Options) (cfg *Config, err error) {
	if filename == "" {
		filename = "prosody.cfg.lua"
	}
	defer func() {
		// A panic here is a bug in this package or in gopher-lua; the config
		// author still deserves an error rather than a crash.
		if r := recover(); r != nil {
			cfg, err = nil, &Error{File: filename, Msg: fmt.Sprintf("internal error while loading: %v", r)}
		}
	}()
	L := glua.NewState(glua.Options{SkipOpenLibs: true})
	defer L.Close()
	ld := &loader{L: L, ctx: ctx, main: filename, sections: map[string]*pending{}, opts: opts}
	ld.globals = ld.openGlobals()
	// Go-side string work is bounded like the config's own code: patterns
	// stop with ctx, long strings are refused before they are built.
	lua.OpenPatterns(L)
	lua.LimitStrings(L, lua.StringLimits{MaxLen: maxFileSize, MaxTotal: maxBuiltStrings})
	ld.errMeta = L.NewTable()
	ld.errMeta.RawSetString("__tostring", L.NewFunction(func(L *glua.LState) int {
		L.Push(glua.LString(L.CheckUserData(1).Value.(*Error).Error()))
		return 1
	}))
	global := &pending{section: &Section{Name: "*", Kind: Global, File: filename}, options: L.NewTable()}
	ld.sections["*"] = global
	ld.order = append(ld.order, global)
	// Only the config's own code is bounded: setting up must not fail.
	L.SetContext(ctx)

	fn, cerr := ld.compile(src, filename)
	if cerr != nil {
		return nil, cerr
	}
	if err := ld.protectedCall(fn, filename); err != nil {
		return nil, err
	}
	return ld.finish(), nil
}

// compile loads src as chunk filename, turning a syntax error into *Error.
func (ld *loader) compile(src []byte, filename string) (*glua.LFunction, *Error) {
	ld.files = append(ld.files, filename)
	fn, err := lua.Load(ld.L, string(src), filename)
	if err != nil {
		return nil, syntaxError(err, src, filename)
	}
	return fn, nil
}

func syntaxError(err error, src []byte, filename string) *Error {
	// Lua 5.3/5.4 syntax gets the message plugins get: the construct and
	// what to write instead.
	var newer *lua.NewerSyntaxError
	if errors.As(lua.SyntaxHint(err), &newer) {
		return &Error{File: filename, Line: newer.Line, Msg: newer.Message()}
	}
	var api *glua.ApiError
	if errors.As(err, &api) {
		if pe, ok := api.Cause.(*parse.Error); ok {
			if pe.Pos.Line == parse.EOF {
				// Report the last line: that is where the reader gave up.
				return &Error{File: filename, Line: lastLine(src), Msg: pe.Message + " at end of file"}
			}
			return &Error{File: filename, Line: pe.Pos.Line, Msg: fmt.Sprintf("%s near '%s'", pe.Message, pe.Token)}
		}
	}
	return &Error{File: filename, Line: 1, Msg: strings.TrimSpace(err.Error())}
}

func lastLine(src []byte) int {
	s := strings.TrimRight(string(src), "\n")
	return strings.Count(s, "\n") + 1
}

// protectedCall runs fn (the main chunk, with its environment) and turns
// whatever it raises into *Error.
func (ld *loader) protectedCall(fn *glua.LFunction, file string) error {
	L := ld.L
	fn.Env = ld.newEnv(file)
	handler := L.NewFunction(func(L *glua.LState) int {
		L.Push(ld.errorValue(ld.locate(L.Get(1))))
		return 1
	})
	L.Push(fn)
	err := L.PCall(0, 0, handler)
	if err == nil {
		return nil
	}
	var e *Error
	var api *glua.ApiError
	if errors.As(err, &api) {
		if ud, ok := api.Object.(*glua.LUserData); ok {
			e, _ = ud.Value.(*Error)
		}
	}
	if e == nil {
		e = &Error{File: file, Msg: lua.ErrorMessage(err)}
	}
	if ctxErr := ld.ctx.Err(); ctxErr != nil {
		e.Msg = fmt.Sprintf("config still running when stopped (an endless loop, or a pattern that backtracks for ever?): %v", ctxErr)
	}
	return e
}

// locate turns an error value raised by the config into *Error. A message
// starting "FILE:LINE:" for a file of this config keeps that position, as
// Lua put it there (error(msg, 2) included); anything else gets the line
// the innermost config function was running.
func (ld *loader) locate(v glua.LValue) *Error {
	if ud, ok := v.(*glua.LUserData); ok {
		if e, ok := ud.Value.(*Error); ok {
			return e
		}
	}
	var msg string
	switch v := v.(type) {
	case glua.LString:
		msg = string(v)
	case glua.LNumber:
		msg = v.String()
	default:
		msg = fmt.Sprintf("(error object is a %s value)", v.Type().String())
	}
	if e := ld.positioned(msg); e != nil {
		return e
	}
	file, line := ld.caller(0)
	return &Error{File: file, Line: line, Msg: msg}
}

// positioned parses "FILE:LINE: msg" where FILE is a file of this config.
func (ld *loader) positioned(msg string) *Error {
	files := append([]string(nil), ld.files...)
	sort.Slice(files, func(i, j int) bool { return len(files[i]) > len(files[j]) })
	for _, f := range files {
		rest, ok := strings.CutPrefix(msg, f+":")
		if !ok {
			continue
		}
		digits, after, ok := strings.Cut(rest, ":")
		n, err := strconv.Atoi(digits)
		if !ok || err != nil {
			continue
		}
		return &Error{File: f, Line: n, Msg: strings.TrimSpace(after)}
	}
	return nil
}

// caller finds the innermost running function of a config file at or above
// stack level from, and the line it is at.
func (ld *loader) caller(from int) (string, int) {
	for level := from; ; level++ {
		dbg, ok := ld.L.GetStack(level)
		if !ok {
			return ld.main, 0
		}
		if _, err := ld.L.GetInfo("Sl", dbg, glua.LNil); err != nil {
			continue
		}
		for _, f := range ld.files {
			if dbg.Source == f && dbg.CurrentLine > 0 {
				return f, dbg.CurrentLine
			}
		}
	}
}

// errorValue wraps e so that it travels through Lua as an error value and
// still reads well if the config catches it with pcall and prints it.
func (ld *loader) errorValue(e *Error) *glua.LUserData {
	ud := ld.L.NewUserData()
	ud.Value = e
	ud.Metatable = ld.errMeta
	return ud
}

// raise stops the config with msg at the config line that called the
// running helper.
func (ld *loader) raise(format string, args ...any) {
	file, line := ld.caller(1)
	ld.L.Error(ld.errorValue(&Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}), 0)
}

// warn records a problem Prosody logs but accepts, at the calling config line.
func (ld *loader) warn(format string, args ...any) {
	file, line := ld.caller(1)
	ld.warnings = append(ld.warnings, fmt.Sprintf("%s:%d: %s", file, line, fmt.Sprintf(format, args...)))
}

// section returns the section name, creating it with kind at the caller's
// line when it is new.
func (ld *loader) section(name string, kind Kind) *pending {
	if p := ld.sections[name]; p != nil {
		return p
	}
	file, line := ld.caller(1)
	p := &pending{section: &Section{Name: name, Kind: kind, File: file, Line: line}, options: ld.L.NewTable()}
	ld.sections[name] = p
	ld.order = append(ld.order, p)
	return p
}

// set assigns option key of section host, as Prosody's configmanager.set.
func (ld *loader) set(host string, key, value glua.LValue) {
	ld.sections[host].options.RawSet(key, value)
}

// finish converts what the config set into the Go view.
func (ld *loader) finish() *Config {
	cfg := &Config{Path: ld.main, byName: map[string]*Section{}, Warnings: ld.warnings, Logs: ld.logs}
	global := ld.sections["*"]
	for _, p := range ld.order {
		s := p.section
		s.Options = options(p.options)
		s.modules = moduleListsOf(p.options, global.options, p == global)
		if s.Kind == Component {
			if m, _ := s.Options["component_module"].(string); m != "component" {
				s.ComponentModule = m
			}
		}
		if p == global {
			cfg.Global = s
			continue
		}
		cfg.Hosts = append(cfg.Hosts, s)
		cfg.byName[s.Name] = s
	}
	return cfg
}

// options converts a section's option table, dropping values that only mean
// something inside the Lua state (functions, userdata, threads).
func options(t *glua.LTable) map[string]any {
	out := map[string]any{}
	t.ForEach(func(k, v glua.LValue) {
		if g := plain(lua.ToGo(v)); g != nil {
			out[k.String()] = g
		}
	})
	return out
}

func plain(v any) any {
	switch v := v.(type) {
	case nil, bool, float64, string:
		return v
	case []any:
		for i, e := range v {
			v[i] = plain(e)
		}
		return v
	case map[string]any:
		for k, e := range v {
			if e = plain(e); e == nil {
				delete(v, k)
			} else {
				v[k] = e
			}
		}
		return v
	}
	return nil
}
