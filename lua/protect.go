package lua

import (
	"reflect"
	"unsafe"

	glua "github.com/yuin/gopher-lua"
)

// Protected calls and upvalues.
//
// gopher-lua v1.1.2 mishandles the upvalues of the frames an error unwinds:
//   - without an error handler (pcall, L.PCall(..., nil)) raising an error
//     closes the open upvalues of EVERY frame on the stack, including the
//     frames below the protected call that keep running: a closure created
//     before `pcall(f)` stops sharing its variables with the function that
//     created it, and the variable and the closure silently diverge;
//   - with an error handler (xpcall) it closes none: the dead frames' upvalues
//     stay open on registers later calls reuse, and a closure that escaped the
//     failed function reads other functions' locals or crashes the VM.
//
// protectedCall closes exactly the upvalues of the frames the error unwinds,
// as Lua does: it marks the state as having an error handler for the
// duration of the call (so that raiseError closes nothing), and its handler,
// which runs before the stack is unwound, closes the open upvalues from the
// failed function's first register up. None of this is reachable through
// gopher-lua's API, so it uses four unexported fields (LState.hasErrorFunc,
// LState.uvcache, LState.reg.top, Upvalue.next/index), found by reflection
// once and checked for their types; if any is missing (another gopher-lua
// version), protectedCall is plain L.PCall and TestProtectedCallKeepsCallerUpvalues
// fails. The list walk is Lua's own rule (open upvalues are kept sorted by
// register; close every one at or above a register), written for this.

// vmFields are the offsets of the unexported fields protectedCall uses.
type vmFields struct {
	hasErrorFunc, uvcache, reg, regTop, uvNext, uvIndex uintptr
}

// vm is computed once from gopher-lua's types and never changes; ok is
// false if they are not what protectedCall expects.
var vm, vmOK = func() (vmFields, bool) {
	var f vmFields
	state := reflect.TypeOf(glua.LState{})
	upvalue := reflect.TypeOf(glua.Upvalue{})
	field := func(t reflect.Type, name string, kind reflect.Kind, elem reflect.Type) (reflect.StructField, bool) {
		sf, ok := t.FieldByName(name)
		if !ok || sf.Type.Kind() != kind || (elem != nil && sf.Type.Elem() != elem) {
			return sf, false
		}
		return sf, true
	}
	flag, ok1 := field(state, "hasErrorFunc", reflect.Bool, nil)
	cache, ok2 := field(state, "uvcache", reflect.Pointer, upvalue)
	reg, ok3 := field(state, "reg", reflect.Pointer, nil)
	next, ok4 := field(upvalue, "next", reflect.Pointer, upvalue)
	index, ok5 := field(upvalue, "index", reflect.Int, nil)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || reg.Type.Elem().Kind() != reflect.Struct {
		return f, false
	}
	top, ok6 := field(reg.Type.Elem(), "top", reflect.Int, nil)
	if !ok6 {
		return f, false
	}
	return vmFields{flag.Offset, cache.Offset, reg.Offset, top.Offset, next.Offset, index.Offset}, true
}()

func errorFuncFlag(L *glua.LState) *bool {
	return (*bool)(unsafe.Add(unsafe.Pointer(L), vm.hasErrorFunc))
}

// stackTop is the absolute index of the first free register of L.
func stackTop(L *glua.LState) int {
	reg := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), vm.reg))
	return *(*int)(unsafe.Add(reg, vm.regTop))
}

// closeUpvaluesFrom closes L's open upvalues on registers from on.
func closeUpvaluesFrom(L *glua.LState, from int) {
	head := (**glua.Upvalue)(unsafe.Add(unsafe.Pointer(L), vm.uvcache))
	next := func(uv *glua.Upvalue) **glua.Upvalue {
		return (**glua.Upvalue)(unsafe.Add(unsafe.Pointer(uv), vm.uvNext))
	}
	index := func(uv *glua.Upvalue) int {
		return *(*int)(unsafe.Add(unsafe.Pointer(uv), vm.uvIndex))
	}
	link := head
	for *link != nil && index(*link) < from {
		link = next(*link)
	}
	for uv := *link; uv != nil; uv = *next(uv) {
		uv.Close()
	}
	*link = nil
}

// PCall is L.PCall(nargs, nret, handler) (the function and its nargs
// arguments on top of the stack) without gopher-lua's upvalue defects; see
// above. Go code that calls Lua in protected mode uses it (or Call) instead
// of L.PCall.
func PCall(L *glua.LState, nargs, nret int, handler *glua.LFunction) error {
	return protectedCall(L, nargs, nret, handler, handler == nil)
}

// tracebackOf is gopher-lua's debug.traceback, taken once from a scratch
// state: a Go function that works on whatever state it is given.
var tracebackOf = func() glua.LGFunction {
	L := glua.NewState(glua.Options{SkipOpenLibs: true})
	defer L.Close()
	L.Push(L.NewFunction(glua.OpenDebug))
	L.Call(0, 1)
	if fn, ok := L.GetField(L.Get(-1), "traceback").(*glua.LFunction); ok && fn.IsG {
		return fn.GFunction
	}
	return nil
}()

// protectedCall: see PCall. With trace set (and no handler) the error
// carries the traceback of where it happened in StackTrace, as L.PCall's do.
func protectedCall(L *glua.LState, nargs, nret int, handler *glua.LFunction, trace bool) error {
	if !vmOK {
		return L.PCall(nargs, nret, handler)
	}
	// The called function's frame (and those it calls) start right above
	// its own register.
	firstDead := stackTop(L) - nargs
	flag := errorFuncFlag(L)
	saved := *flag
	var traceback string
	closing := L.NewFunction(func(L *glua.LState) int {
		closeUpvaluesFrom(L, firstDead)
		if handler != nil {
			L.Insert(handler, 1)
			L.Call(L.GetTop()-1, 1)
			return 1
		}
		if trace && tracebackOf != nil {
			value := L.Get(1)
			L.SetTop(0)
			tracebackOf(L)
			traceback = L.ToString(-1)
			L.SetTop(0)
			L.Push(value)
		}
		L.SetTop(1)
		return 1
	})
	*flag = true
	err := L.PCall(nargs, nret, closing)
	*flag = saved
	if ae, ok := err.(*glua.ApiError); ok && trace && ae.StackTrace == "" {
		ae.StackTrace = traceback
	}
	return err
}

// luaPCall is pcall(f, ...) on protectedCall.
func luaPCall(L *glua.LState) int {
	fn := L.CheckAny(1)
	if _, ok := fn.(*glua.LFunction); !ok && L.GetMetaField(fn, "__call").Type() != glua.LTFunction {
		L.Push(glua.LFalse)
		L.Push(glua.LString("attempt to call a " + fn.Type().String() + " value"))
		return 2
	}
	if err := protectedCall(L, L.GetTop()-1, glua.MultRet, nil, false); err != nil {
		L.Push(glua.LFalse)
		L.Push(errorValue(err))
		return 2
	}
	L.Insert(glua.LTrue, 1)
	return L.GetTop()
}

// luaXPCall is xpcall(f, handler, ...): the handler sees the error where it
// happened (for debug.traceback) and its result is the error value; extra
// arguments go to f, as in Lua 5.2.
func luaXPCall(L *glua.LState) int {
	L.CheckAny(1)
	handler := L.CheckFunction(2)
	L.Remove(2)
	if err := protectedCall(L, L.GetTop()-1, glua.MultRet, handler, false); err != nil {
		L.Push(glua.LFalse)
		L.Push(errorValue(err))
		return 2
	}
	L.Insert(glua.LTrue, 1)
	return L.GetTop()
}

func errorValue(err error) glua.LValue {
	if ae, ok := err.(*glua.ApiError); ok && ae.Object != nil {
		return ae.Object
	}
	return glua.LString(err.Error())
}
