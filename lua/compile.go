package lua

import (
	"crypto/sha256"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// Load compiles src as a chunk named chunkname and returns its main function,
// with L's globals as its environment. Every piece of Lua modhost runs goes
// through it (libraries, plugins, the config file, loadstring, load,
// loadfile, dofile and require), because gopher-lua v1.1.2 miscompiles a few
// constructs real plugins use and Load rewrites them, before compiling, into
// equivalent code it compiles correctly (see rewriteBlock). Line numbers in
// errors and tracebacks stay those of the source.
//
// A syntax error comes back as a *glua.ApiError of type ApiErrorSyntax whose
// Cause is the parser's or compiler's error, as L.Load returns it, or a
// *NewerSyntaxError (wrapping the parser's) when the parser stopped at
// syntax Lua 5.3 or 5.4 added.
func Load(L *glua.LState, src, chunkname string) (*glua.LFunction, error) {
	proto, err := compileCached(L, src, chunkname)
	if err != nil {
		return nil, err
	}
	return L.NewFunctionFromProto(proto), nil
}

// Compile parses and rewrites src and compiles it to a prototype; Load is
// Compile plus a closure over the globals.
func Compile(src, chunkname string) (*glua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), chunkname)
	if err != nil {
		var perr *parse.Error
		if errors.As(err, &perr) {
			if hint := newerSyntax(perr, src, chunkname); hint != nil {
				return nil, &glua.ApiError{Type: glua.ApiErrorSyntax, Object: glua.LString(hint.Error()), Cause: hint}
			}
		}
		return nil, &glua.ApiError{Type: glua.ApiErrorSyntax, Object: glua.LString(err.Error()), Cause: err}
	}
	chunk = rewriteBlock(chunk)
	proto, err := glua.Compile(chunk, chunkname)
	if err != nil {
		return nil, &glua.ApiError{Type: glua.ApiErrorSyntax, Object: glua.LString(err.Error()), Cause: err}
	}
	compactProto(proto)
	return proto, nil
}

// compactProto gives every prototype under p slices of exactly its size.
// gopher-lua v1.1.2 compiles each function into buffers of 1024
// instructions and 1024 line numbers (12 KiB), and gives each prototype
// room for 128 call records and 32 constants (3.5 KiB more), and keeps
// them: a loaded plugin set held about 9 MiB of them, most of modhost's
// heap at rest, and so most of the heap the collector paces itself by.
func compactProto(p *glua.FunctionProto) {
	p.Code = exactly(p.Code)
	p.DbgSourcePositions = exactly(p.DbgSourcePositions)
	p.Constants = exactly(p.Constants)
	p.FunctionPrototypes = exactly(p.FunctionPrototypes)
	p.DbgLocals = exactly(p.DbgLocals)
	p.DbgCalls = exactly(p.DbgCalls)
	p.DbgUpvalues = exactly(p.DbgUpvalues)
	for _, child := range p.FunctionPrototypes {
		compactProto(child)
	}
}

// exactly is a copy of s in an array of its length (nil when empty:
// slices.Clone of an empty slice would keep the old array alive).
func exactly[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// protoCache remembers compiled chunks of one Lua state by source and name:
// modules are reloaded and the same library is loaded into every module's
// environment, and parsing dominates the cost of loading. Prototypes are never
// modified once compiled, so closures made from one share it safely.
type protoCache struct {
	mu     sync.Mutex
	protos map[[sha256.Size]byte]*glua.FunctionProto
}

// protoCacheLimit bounds the cache: code generated at run time (loadstring
// of built strings) must not make it grow without end. When full it starts
// over, which costs one recompilation per chunk still in use.
const protoCacheLimit = 512

const protoCacheKey = "modhost.protocache"

func compileCached(L *glua.LState, src, chunkname string) (*glua.FunctionProto, error) {
	cache := protoCacheOf(L)
	h := sha256.New()
	h.Write([]byte(chunkname))
	h.Write([]byte{0})
	h.Write([]byte(src))
	compile := Compile
	if limitsConcat(L) {
		compile = compileCheckingConcats
		h.Write([]byte{0, 1})
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])

	cache.mu.Lock()
	proto, ok := cache.protos[key]
	cache.mu.Unlock()
	if ok {
		return proto, nil
	}
	proto, err := compile(src, chunkname)
	if err != nil {
		return nil, err
	}
	cache.mu.Lock()
	if len(cache.protos) >= protoCacheLimit {
		clear(cache.protos)
	}
	cache.protos[key] = proto
	cache.mu.Unlock()
	return proto, nil
}

// protoCacheOf returns L's cache, kept in the registry so that it lives and
// dies with the state (coroutines share their parent's registry).
func protoCacheOf(L *glua.LState) *protoCache {
	if ud, ok := L.G.Registry.RawGetString(protoCacheKey).(*glua.LUserData); ok {
		if c, ok := ud.Value.(*protoCache); ok {
			return c
		}
	}
	c := &protoCache{protos: map[[sha256.Size]byte]*glua.FunctionProto{}}
	ud := L.NewUserData()
	ud.Value = c
	L.G.Registry.RawSetString(protoCacheKey, ud)
	return c
}

// rewriteBlock returns stmts with the constructs gopher-lua v1.1.2
// miscompiles replaced by equivalent ones, recursively (function bodies
// included). Synthesised locals are named "(...)": no Lua identifier can
// spell that, so they never capture or shadow a name of the program.
//
//   - Multiple assignment `a, b = b, a` gives 2, 2: the compiler moves each
//     value straight into its target's register while later values still
//     read the old one (yuin/gopher-lua#440). Every assignment with more than
//     one target becomes
//     `do local (t1), (k1), (v1), (v2) = t, k, b, a; t[k] ... = (v2) ... end`:
//     targets' tables and keys, then all values, are evaluated first (in
//     Lua's order) into fresh locals, then assigned right to left as Lua 5.1
//     does.
//   - `for x in f().field do` calls the wrong value: the compiler evaluates
//     the iterator expressions into registers it has already given to the
//     loop's hidden locals, sized by the loop variables instead of by three.
//     A loop whose expression list is not a single call or `...` becomes
//     `do local (for f), (for s), (for c) = <exprs>; for x in (for f), (for s), (for c) do ... end end`.
//   - `x = (f(x))` (a single target, a parenthesised call) calls the wrong
//     value, or crashes the VM: the compiler puts the function into x's
//     register before evaluating the arguments that read x. It becomes
//     `do local (assign 1) = (f(x)); x = (assign 1) end`; `local y = (f(x))`
//     compiles right.
//   - `{ "a", x = f() }` also stores f()'s results at t[2], t[3]...: when the
//     last field is keyed, the constructor still flushes "all values up to
//     the top" as if it were a positional call. A keyed field keeps one value
//     anyway, so its call is marked adjusted to one result, as `(f())` is.
func rewriteBlock(stmts []ast.Stmt) []ast.Stmt {
	for i, s := range stmts {
		stmts[i] = rewriteStmt(s)
	}
	return stmts
}

func rewriteStmt(s ast.Stmt) ast.Stmt {
	rewriteStmtChildren(s, rewriteExpr, func(b []ast.Stmt) { rewriteBlock(b) })
	switch s := s.(type) {
	case *ast.AssignStmt:
		if len(s.Lhs) > 1 {
			return multipleAssignment(s)
		}
		if len(s.Rhs) == 1 && isAdjustedCall(s.Rhs[0]) {
			return assignmentThroughLocal(s)
		}
	case *ast.GenericForStmt:
		if !(len(s.Exprs) == 1 && isMultipleResults(s.Exprs[0])) {
			return genericForOverLocals(s)
		}
	}
	return s
}

func rewriteExpr(e ast.Expr) ast.Expr {
	rewriteExprChildren(e, rewriteExpr, func(b []ast.Stmt) { rewriteBlock(b) })
	if t, ok := e.(*ast.TableExpr); ok {
		for _, f := range t.Fields {
			if f.Key != nil {
				adjustToOne(f.Value)
			}
		}
	}
	return e
}

// isMultipleResults reports whether e is a call or `...` that is not
// parenthesised, i.e. one that yields all its values in a list's last place.
func isMultipleResults(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.FuncCallExpr:
		return !e.AdjustRet
	case *ast.Comma3Expr:
		return !e.AdjustRet
	}
	return false
}

func adjustToOne(e ast.Expr) {
	switch e := e.(type) {
	case *ast.FuncCallExpr:
		e.AdjustRet = true
	case *ast.Comma3Expr:
		e.AdjustRet = true
	}
}

// multipleAssignment rewrites `lhs1, lhs2, ... = rhs...` (see rewriteBlock).
func multipleAssignment(s *ast.AssignStmt) ast.Stmt {
	at := positionOf(s)
	var names []string
	var values []ast.Expr
	temp := func(e ast.Expr) ast.Expr {
		name := "(assign " + strconv.Itoa(len(names)+1) + ")"
		names = append(names, name)
		values = append(values, e)
		return at.ident(name)
	}
	// Tables and keys of indexed targets first: Lua evaluates them before
	// the values, so `i, t[i] = i + 1, x` stores at the old i.
	targets := make([]ast.Expr, len(s.Lhs))
	for i, lhs := range s.Lhs {
		target := lhs
		if ix, ok := lhs.(*ast.AttrGetExpr); ok {
			key := ix.Key
			if _, constant := key.(ast.ConstExpr); !constant {
				key = nil
			}
			obj := temp(ix.Object)
			if key == nil {
				key = temp(ix.Key)
			}
			target = at.index(obj, key)
		}
		targets[i] = target
	}
	first := len(names)
	// All values: one local per target, so the list is adjusted (a final
	// call spread, missing values nil, extra ones evaluated and dropped)
	// exactly as the assignment would.
	for range s.Lhs {
		names = append(names, "(assign "+strconv.Itoa(len(names)+1)+")")
	}
	decl := &ast.LocalAssignStmt{Names: names, Exprs: append(values, s.Rhs...)}
	at.place(decl)
	block := []ast.Stmt{decl}
	for i := len(targets) - 1; i >= 0; i-- {
		assign := &ast.AssignStmt{Lhs: []ast.Expr{targets[i]}, Rhs: []ast.Expr{at.ident(names[first+i])}}
		at.place(assign)
		block = append(block, assign)
	}
	do := &ast.DoBlockStmt{Stmts: block}
	at.place(do)
	return do
}

// isAdjustedCall reports whether e is a parenthesised call: `(f(x))`.
func isAdjustedCall(e ast.Expr) bool {
	call, ok := e.(*ast.FuncCallExpr)
	return ok && call.AdjustRet
}

// assignmentThroughLocal rewrites `x = (f(x))` (see rewriteBlock).
func assignmentThroughLocal(s *ast.AssignStmt) ast.Stmt {
	at := positionOf(s)
	name := "(assign 1)"
	decl := &ast.LocalAssignStmt{Names: []string{name}, Exprs: s.Rhs}
	at.place(decl)
	assign := &ast.AssignStmt{Lhs: s.Lhs, Rhs: []ast.Expr{at.ident(name)}}
	at.place(assign)
	do := &ast.DoBlockStmt{Stmts: []ast.Stmt{decl, assign}}
	at.place(do)
	return do
}

// genericForOverLocals rewrites `for names in exprs do` (see rewriteBlock).
func genericForOverLocals(s *ast.GenericForStmt) ast.Stmt {
	at := positionOf(s)
	hidden := []string{"(for f)", "(for s)", "(for c)"}
	decl := &ast.LocalAssignStmt{Names: hidden, Exprs: s.Exprs}
	at.place(decl)
	s.Exprs = []ast.Expr{at.ident(hidden[0]), at.ident(hidden[1]), at.ident(hidden[2])}
	do := &ast.DoBlockStmt{Stmts: []ast.Stmt{decl, s}}
	at.place(do)
	return do
}

// position gives synthesised nodes the lines of the statement they replace,
// so that errors and tracebacks point into the source.
type position struct{ line, last int }

func positionOf(n ast.PositionHolder) position { return position{n.Line(), n.LastLine()} }

func (p position) place(n ast.PositionHolder) {
	n.SetLine(p.line)
	n.SetLastLine(p.last)
}

func (p position) ident(name string) ast.Expr {
	e := &ast.IdentExpr{Value: name}
	p.place(e)
	return e
}

func (p position) index(obj, key ast.Expr) ast.Expr {
	e := &ast.AttrGetExpr{Object: obj, Key: key}
	p.place(e)
	return e
}
