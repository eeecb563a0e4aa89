package compat

import (
	"bytes"
	"fmt"

	glua "github.com/yuin/gopher-lua"
)

// ringbuffer is one util.ringbuffer object: a fixed-size byte queue, as in
// Prosody's util-src/ringbuffer.c. data holds size bytes; the content is
// length bytes from rpos on, wrapping round the end.
type ringbuffer struct {
	data   []byte
	rpos   int
	length int
}

// ringbufferPageSize is the size new() gives when called without one: the
// C library asks the system's page size, 4096 on the machines Prosody runs on.
const ringbufferPageSize = 4096

// content returns the bytes from offset from to to (0-based, to excluded)
// of what the buffer holds, copied.
func (b *ringbuffer) content(from, to int) []byte {
	out := make([]byte, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, b.data[(b.rpos+i)%len(b.data)])
	}
	return out
}

// find returns where the first occurrence of s ends (1-based, so the
// length to read to take it in), or 0. As the C library does, a full
// buffer is taken for an empty one (its positions meet) and finds nothing;
// an empty s or one longer than the content finds nothing either.
func (b *ringbuffer) find(s string) int {
	if b.length == 0 || b.length == len(b.data) || s == "" || len(s) > b.length {
		return 0
	}
	if i := bytes.Index(b.content(0, b.length), []byte(s)); i >= 0 {
		return i + len(s)
	}
	return 0
}

// consume drops n bytes from the front.
func (b *ringbuffer) consume(n int) {
	b.length -= n
	b.rpos = (b.rpos + n) % len(b.data)
}

// span turns string.sub-style positions (1-based, negative from the end)
// into 0-based offsets; ok is false for an empty span.
func (b *ringbuffer) span(start, end int) (from, to int, ok bool) {
	if start < 0 {
		start = 1 + start + b.length
	}
	if start < 1 {
		start = 1
	}
	if end < 0 {
		end = 1 + end + b.length
	}
	if end > b.length {
		end = b.length
	}
	if start > end {
		return 0, 0, false
	}
	return start - 1, end, true
}

const ringbufferType = "util.ringbuffer"

// ringbufferMaxSize bounds one buffer (1 GiB).
const ringbufferMaxSize = 1 << 30

// checkRingbuffer is argument n as a ringbuffer, raising Lua's argument
// error otherwise.
func checkRingbuffer(L *glua.LState, n int) *ringbuffer {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if b, ok := ud.Value.(*ringbuffer); ok {
			return b
		}
	}
	L.ArgError(n, "ringbuffer expected")
	return nil
}

// ringbufferMethods are the object's methods, as Prosody names them.
var ringbufferMethods = map[string]glua.LGFunction{
	"write": func(L *glua.LState) int {
		b, s := checkRingbuffer(L, 1), L.CheckString(2)
		if len(s)+b.length > len(b.data) {
			L.Push(glua.LNil)
			return 1
		}
		for i := 0; i < len(s); i++ {
			b.data[(b.rpos+b.length+i)%len(b.data)] = s[i]
		}
		b.length += len(s)
		L.Push(glua.LNumber(len(s)))
		return 1
	},
	"read": func(L *glua.LState) int {
		b, n, peek := checkRingbuffer(L, 1), L.CheckInt(2), glua.LVAsBool(L.Get(3))
		L.Push(ringbufferRead(b, n, peek))
		return 1
	},
	"readuntil": func(L *glua.LState) int {
		b := checkRingbuffer(L, 1)
		n := b.find(L.CheckString(2))
		if n == 0 {
			return 0
		}
		L.Push(ringbufferRead(b, n, false))
		return 1
	},
	"find": func(L *glua.LState) int {
		b := checkRingbuffer(L, 1)
		n := b.find(L.CheckString(2))
		if n == 0 {
			return 0
		}
		L.Push(glua.LNumber(n))
		return 1
	},
	"discard": func(L *glua.LState) int {
		b, n := checkRingbuffer(L, 1), L.CheckInt(2)
		if n < 0 || n > b.length {
			L.Push(glua.LFalse)
			return 1
		}
		b.consume(n)
		L.Push(glua.LTrue)
		return 1
	},
	"sub": func(L *glua.LState) int {
		b := checkRingbuffer(L, 1)
		from, to, ok := b.span(L.CheckInt(2), L.OptInt(3, -1))
		if !ok {
			L.Push(glua.LString(""))
			return 1
		}
		L.Push(glua.LString(b.content(from, to)))
		return 1
	},
	"byte": func(L *glua.LState) int {
		b := checkRingbuffer(L, 1)
		start := L.OptInt(2, 1)
		from, to, ok := b.span(start, L.OptInt(3, start))
		if !ok {
			return 0
		}
		for _, c := range b.content(from, to) {
			L.Push(glua.LNumber(c))
		}
		return to - from
	},
	"length": ringbufferLength,
	"size": func(L *glua.LState) int {
		L.Push(glua.LNumber(len(checkRingbuffer(L, 1).data)))
		return 1
	},
	"free": func(L *glua.LState) int {
		b := checkRingbuffer(L, 1)
		L.Push(glua.LNumber(len(b.data) - b.length))
		return 1
	},
}

// ringbufferRead takes n bytes from the front (leaving them with peek),
// or nil when fewer are held.
func ringbufferRead(b *ringbuffer, n int, peek bool) glua.LValue {
	if n < 0 || n > b.length {
		return glua.LNil
	}
	out := b.content(0, n)
	if !peek {
		b.consume(n)
	}
	return glua.LString(out)
}

func ringbufferLength(L *glua.LState) int {
	L.Push(glua.LNumber(checkRingbuffer(L, 1).length))
	return 1
}

// openUtilRingbuffer is util.ringbuffer (C in Prosody 0.12): new([size])
// makes a buffer of size bytes (default a page, 4096) with write, read
// (n [, peek]), readuntil, find, discard, sub, byte, length (also #), size
// and free. Writes that do not fit and reads past the content return nil,
// leaving the buffer as it was.
func openUtilRingbuffer(L *glua.LState) int {
	mt := L.NewTypeMetatable(ringbufferType)
	mt.RawSetString("__index", L.SetFuncs(L.NewTable(), ringbufferMethods))
	mt.RawSetString("__len", L.NewFunction(ringbufferLength))
	mt.RawSetString("__tostring", L.NewFunction(func(L *glua.LState) int {
		b := checkRingbuffer(L, 1)
		L.Push(glua.LString(fmt.Sprintf("ringbuffer: %p %d/%d", b, b.length, len(b.data))))
		return 1
	}))
	mod := L.NewTable()
	mod.RawSetString("new", L.NewFunction(func(L *glua.LState) int {
		size := L.OptInt(1, ringbufferPageSize)
		if size <= 0 {
			L.ArgError(1, "positive integer expected")
		}
		if size > ringbufferMaxSize {
			// Where C's allocation would fail, before Go's would end the process.
			L.RaiseError("not enough memory")
		}
		ud := L.NewUserData()
		ud.Value = &ringbuffer{data: make([]byte, size)}
		L.SetMetatable(ud, mt)
		L.Push(ud)
		return 1
	}))
	L.Push(mod)
	return 1
}
