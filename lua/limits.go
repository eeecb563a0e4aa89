package lua

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// String limits for code that must not exhaust memory: the config file.
//
// Go cannot recover from running out of memory ("fatal error: out of
// memory" ends the process), and one line of Lua can ask for terabytes:
// table.concat of 20,000 references to a 1 MiB string, `s = s .. s` in a
// loop, a gsub whose every match becomes a megabyte. The running-time
// bound does not help, since the allocation comes first. LimitStrings makes
// every way a chunk of L builds a long string check the result's length
// before allocating it, and counts what they build in all:
//
//   - string.rep, string.format, table.concat and string.gsub are wrapped
//     (gsub checks as it goes: OpenPatterns' gsub reads the limit);
//   - the `..` operator has no hook in gopher-lua's VM, so Load compiles
//     every concatenation of a state with limits as a call to the checking
//     function string["(concat)"] (the same operands, evaluated in the same
//     order, with __concat metamethods honoured; a name no Lua identifier
//     can spell).
//
// Lua code can still fill memory with many small values (tables of
// numbers); the running-time bound is what stops that.

// StringLimits are the bounds LimitStrings enforces; zero fields are not
// checked.
type StringLimits struct {
	// MaxLen is the longest string one operation may build.
	MaxLen int
	// MaxTotal is how many bytes all limited operations may build
	// together over the life of the state.
	MaxTotal int64
}

type stringLimits struct {
	StringLimits
	total int64
}

const (
	stringLimitsKey = "modhost.stringlimits"
	concatName      = "(concat)"
)

// LimitStrings applies limits to L; call it before loading the code it
// should bound (Load rewrites `..` only in chunks compiled afterwards).
func LimitStrings(L *glua.LState, limits StringLimits) {
	lim := &stringLimits{StringLimits: limits}
	ud := L.NewUserData()
	ud.Value = lim
	L.G.Registry.RawSetString(stringLimitsKey, ud)
	str, ok := L.GetGlobal("string").(*glua.LTable)
	if !ok {
		return
	}
	for _, name := range []string{"rep", "format"} {
		if fn, ok := str.RawGetString(name).(*glua.LFunction); ok {
			str.RawSetString(name, L.NewFunction(limitResult(lim, "string."+name, fn)))
		}
	}
	str.RawSetString(concatName, L.NewFunction(func(L *glua.LState) int { return limitedConcat(L, lim) }))
	if tbl, ok := L.GetGlobal("table").(*glua.LTable); ok {
		if fn, ok := tbl.RawGetString("concat").(*glua.LFunction); ok {
			tbl.RawSetString("concat", L.NewFunction(func(L *glua.LState) int { return limitedTableConcat(L, lim, fn) }))
		}
	}
}

func limitsOf(L *glua.LState) *stringLimits {
	if ud, ok := L.G.Registry.RawGetString(stringLimitsKey).(*glua.LUserData); ok {
		if lim, ok := ud.Value.(*stringLimits); ok {
			return lim
		}
	}
	return nil
}

// build accounts for a string of n bytes that what is about to build, and
// raises if it is over a limit.
func (lim *stringLimits) build(L *glua.LState, what string, n int) {
	if lim.MaxLen > 0 && n > lim.MaxLen {
		L.RaiseError("%s: result longer than %d bytes", what, lim.MaxLen)
	}
	lim.total += int64(n)
	if lim.MaxTotal > 0 && lim.total > lim.MaxTotal {
		L.RaiseError("%s: more than %d bytes of strings built in all", what, lim.MaxTotal)
	}
}

// limitResult wraps a string function whose result may be long but whose
// cost is bounded by its arguments (string.rep's own wrapper bounds it
// first, format's widths are at most two digits in Go's fmt too): it
// counts the result.
func limitResult(lim *stringLimits, what string, fn *glua.LFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		if what == "string.rep" {
			s, n := L.CheckString(1), L.CheckInt(2)
			if n > 0 {
				if lim.MaxLen > 0 && len(s) > 0 && n > lim.MaxLen/len(s) {
					L.RaiseError("%s: result longer than %d bytes", what, lim.MaxLen)
				}
				lim.build(L, what, len(s)*n)
			}
		}
		top := L.GetTop()
		L.Push(fn)
		for i := 1; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top, glua.MultRet)
		if what != "string.rep" {
			if s, ok := L.Get(-1).(glua.LString); ok {
				lim.build(L, what, len(s))
			}
		}
		return L.GetTop() - top
	}
}

func canConcat(v glua.LValue) bool {
	switch v.(type) {
	case glua.LString, glua.LNumber:
		return true
	}
	return false
}

// limitedConcat is `a .. b .. c` as string["(concat)"]("", a, b, c):
// right to left as the VM does, runs of strings and numbers joined at once,
// __concat for anything else, every result checked before it is built.
func limitedConcat(L *glua.LState, lim *stringLimits) int {
	n := L.GetTop()
	if n < 2 {
		L.Push(glua.LString(""))
		return 1
	}
	rhs := L.Get(n)
	for i := n - 1; i >= 2; {
		lhs := L.Get(i)
		if canConcat(lhs) && canConcat(rhs) {
			j := i
			size := len(glua.LVAsString(rhs))
			for ; j >= 2 && canConcat(L.Get(j)); j-- {
				size += len(glua.LVAsString(L.Get(j)))
			}
			lim.build(L, "string concatenation (..)", size)
			var b strings.Builder
			b.Grow(size)
			for k := j + 1; k <= i; k++ {
				b.WriteString(glua.LVAsString(L.Get(k)))
			}
			b.WriteString(glua.LVAsString(rhs))
			rhs = glua.LString(b.String())
			i = j
			continue
		}
		op := L.GetMetaField(lhs, "__concat")
		if op == glua.LNil {
			op = L.GetMetaField(rhs, "__concat")
		}
		if _, ok := op.(*glua.LFunction); !ok {
			L.RaiseError("cannot perform concat operation between %v and %v", lhs.Type().String(), rhs.Type().String())
		}
		L.Push(op)
		L.Push(lhs)
		L.Push(rhs)
		L.Call(2, 1)
		rhs = L.Get(-1)
		L.Pop(1)
		i--
	}
	L.Push(rhs)
	return 1
}

// limitedTableConcat is table.concat(t [, sep [, i [, j]]]) (fn,
// gopher-lua's) once the length of its result, measured with gopher-lua's
// reading of i and j, is known to be within the limits.
func limitedTableConcat(L *glua.LState, lim *stringLimits, fn *glua.LFunction) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	n := t.Len()
	i := L.OptInt(3, 1)
	j := L.OptInt(4, n)
	size := 0
	if L.GetTop() != 3 || (i >= 1 && i <= n) {
		i, j = max(min(i, n), 1), min(j, n)
		for k := i; k <= j; k++ {
			if v := t.RawGetInt(k); canConcat(v) {
				size += len(glua.LVAsString(v))
			}
			if k < j {
				size += len(sep)
			}
			if lim.MaxLen > 0 && size > lim.MaxLen {
				L.RaiseError("table.concat: result longer than %d bytes", lim.MaxLen)
			}
		}
	}
	lim.build(L, "table.concat", size)
	top := L.GetTop()
	L.Push(fn)
	for k := 1; k <= top; k++ {
		L.Push(L.Get(k))
	}
	L.Call(top, 1)
	return 1
}

// limitsConcat reports whether chunks compiled for L get their `..`
// checked.
func limitsConcat(L *glua.LState) bool { return limitsOf(L) != nil }

// compileCheckingConcats is Compile plus checkConcats; a syntax error is
// Compile's own (with its hints).
func compileCheckingConcats(src, chunkname string) (*glua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), chunkname)
	if err != nil {
		return Compile(src, chunkname)
	}
	chunk = rewriteBlock(chunk)
	checkConcats(chunk)
	proto, err := glua.Compile(chunk, chunkname)
	if err != nil {
		return nil, &glua.ApiError{Type: glua.ApiErrorSyntax, Object: glua.LString(err.Error()), Cause: err}
	}
	compactProto(proto)
	return proto, nil
}

// checkConcats rewrites every `..` in stmts (see LimitStrings).
func checkConcats(stmts []ast.Stmt) {
	for _, s := range stmts {
		concatStmt(s)
	}
}

func concatStmt(s ast.Stmt) {
	rewriteStmtChildren(s, concatExpr, checkConcats)
}

// concatExpr returns e with its `..` chains replaced by calls.
func concatExpr(e ast.Expr) ast.Expr {
	c, ok := e.(*ast.StringConcatOpExpr)
	if !ok {
		rewriteExprChildren(e, concatExpr, checkConcats)
		return e
	}
	at := positionOf(c)
	empty := &ast.StringExpr{Value: ""}
	name := &ast.StringExpr{Value: concatName}
	at.place(empty)
	at.place(name)
	call := &ast.FuncCallExpr{Func: at.index(empty, name), Args: append([]ast.Expr{empty}, concatOperands(c, nil)...)}
	at.place(call)
	call.AdjustRet = true
	return call
}

// concatOperands flattens the right-associative chain a .. (b .. c) into
// a, b, c, each operand rewritten in turn; a concatenation on the left,
// (a .. b) .. c, stays an operand of its own, as the VM evaluates it.
func concatOperands(e ast.Expr, out []ast.Expr) []ast.Expr {
	for {
		c, ok := e.(*ast.StringConcatOpExpr)
		if !ok {
			return append(out, concatExpr(e))
		}
		out = append(out, concatExpr(c.Lhs))
		e = c.Rhs
	}
}
