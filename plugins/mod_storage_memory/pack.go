package storagememory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// modhost.pack turns a Lua value into a compact immutable form and back, for
// stores that keep data for a long time (mod_storage_memory). A gopher-lua
// table with string keys carries a Go map, a key slice and a key index map,
// so a small record costs a kilobyte or more; packed, it costs its bytes.
//
//	local packed = pack.pack(value)  -- nil for nil
//	local value = pack.unpack(packed) -- fresh tables, every time
//	local n = pack.size(packed)       -- keys of the packed table
//
// What survives a round trip is what a deep copy keeps: nil, booleans,
// numbers, strings and tables with any keys, nested; tables reached twice
// (shared or cyclic) are one table again; iteration order is kept. Tables
// are read raw: __pairs, __index and the like are not consulted.
// Metatables, functions, userdata and threads are not copied but kept by
// reference, as a deep copy keeps them. The packed form is a Lua string
// when nothing is kept by reference, otherwise a userdata holding the bytes
// and the references.

// Tags of the packed form; each value starts with one.
const (
	packNil      = '-'
	packFalse    = 'F'
	packTrue     = 'T'
	packInt      = 'i' // zigzag varint
	packFloat    = 'd' // 8 bytes, IEEE 754 little endian
	packString   = 's' // uvarint length, bytes
	packStrAgain = 'r' // uvarint index of an earlier string
	packTable    = '{' // uvarint array, string-keyed and other-keyed counts; metatable; values; pairs
	packTabAgain = '@' // uvarint index of an earlier table
	packRef      = 'x' // uvarint index into the references
	packWord     = 'k' // one byte: index into Words
)

// Words are strings every roster repeats (its keys and subscription
// states), packed as two bytes and, unlike other strings, never referred
// back to: a value that holds no other repeated string then packs
// without back references, which lets Go code (host/roster) splice packed
// roster items without unpacking them.
var Words = [...]string{"subscription", "name", "groups", "ask", "none", "to", "from", "both", "subscribe", "version", "pending", "approved"}

var wordIndex = func() map[string]byte {
	m := make(map[string]byte, len(Words))
	for i, w := range Words {
		m[w] = byte(i)
	}
	return m
}()

// The tags, for Go code that reads or writes packed values itself.
const (
	TagNil    = packNil
	TagFalse  = packFalse
	TagTrue   = packTrue
	TagInt    = packInt
	TagFloat  = packFloat
	TagString = packString
	TagTable  = packTable
	TagWord   = packWord
)

// packedValue is the packed form of a value that holds references.
type packedValue struct {
	data string
	refs []glua.LValue
}

type packer struct {
	// flat: no back references (every string in full, a table reached
	// twice or a reference fails the pack), for Go code that splices.
	flat    bool
	failed  bool
	L       *glua.LState
	buf     []byte
	strings map[string]int
	tables  map[*glua.LTable]int
	refs    []glua.LValue
	refIDs  map[glua.LValue]int
}

func (p *packer) uvarint(n int) {
	p.buf = binary.AppendUvarint(p.buf, uint64(n))
}

func (p *packer) ref(v glua.LValue) {
	if p.flat {
		p.failed = true
		return
	}
	id, ok := p.refIDs[v]
	if !ok {
		if p.refIDs == nil {
			p.refIDs = map[glua.LValue]int{}
		}
		id = len(p.refs)
		p.refs = append(p.refs, v)
		p.refIDs[v] = id
	}
	p.buf = append(p.buf, packRef)
	p.uvarint(id)
}

func (p *packer) value(v glua.LValue) {
	switch v := v.(type) {
	case *glua.LNilType:
		p.buf = append(p.buf, packNil)
	case glua.LBool:
		if v {
			p.buf = append(p.buf, packTrue)
		} else {
			p.buf = append(p.buf, packFalse)
		}
	case glua.LNumber:
		f := float64(v)
		// Integers (not -0, which would come back as 0) in the range a
		// float holds exactly take a varint; the rest their 8 bytes.
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 && !(f == 0 && math.Signbit(f)) {
			p.buf = append(p.buf, packInt)
			p.buf = binary.AppendVarint(p.buf, int64(f))
			return
		}
		p.buf = append(p.buf, packFloat)
		p.buf = binary.LittleEndian.AppendUint64(p.buf, math.Float64bits(f))
	case glua.LString:
		if w, ok := wordIndex[string(v)]; ok {
			p.buf = append(p.buf, packWord, w)
			return
		}
		if id, ok := p.strings[string(v)]; ok && !p.flat {
			p.buf = append(p.buf, packStrAgain)
			p.uvarint(id)
			return
		}
		p.strings[string(v)] = len(p.strings)
		p.buf = append(p.buf, packString)
		p.uvarint(len(v))
		p.buf = append(p.buf, v...)
	case *glua.LTable:
		p.table(v)
	default: // functions, userdata, threads, channels
		p.ref(v)
	}
}

// arrayLen counts the keys 1, 2, ... present without a gap: the part a
// fresh table keeps as its array.
func arrayLen(t *glua.LTable) int {
	n := 0
	for t.RawGetInt(n+1) != glua.LNil {
		n++
	}
	return n
}

func inArray(k glua.LValue, n int) bool {
	i, ok := k.(glua.LNumber)
	return ok && float64(i) == math.Trunc(float64(i)) && i >= 1 && int(i) <= n
}

func (p *packer) table(t *glua.LTable) {
	if id, ok := p.tables[t]; ok {
		if p.flat {
			p.failed = true
			return
		}
		p.buf = append(p.buf, packTabAgain)
		p.uvarint(id)
		return
	}
	p.tables[t] = len(p.tables)
	n := arrayLen(t)
	var nstr, nother int
	for k, _ := t.Next(glua.LNil); k != glua.LNil; k, _ = t.Next(k) {
		switch {
		case inArray(k, n):
		case k.Type() == glua.LTString:
			nstr++
		default:
			nother++
		}
	}
	p.buf = append(p.buf, packTable)
	p.uvarint(n)
	p.uvarint(nstr)
	p.uvarint(nother)
	if mt := p.L.GetMetatable(t); mt != glua.LNil {
		p.ref(mt)
	} else {
		p.buf = append(p.buf, packNil)
	}
	for i := 1; i <= n; i++ {
		p.value(t.RawGetInt(i))
	}
	for k, v := t.Next(glua.LNil); k != glua.LNil; k, v = t.Next(k) {
		if inArray(k, n) {
			continue
		}
		p.value(k)
		p.value(v)
	}
}

// packValue is pack.pack's work: nil stays nil.
func packValue(L *glua.LState, v glua.LValue) glua.LValue {
	if v == glua.LNil {
		return glua.LNil
	}
	p := &packer{L: L, strings: map[string]int{}, tables: map[*glua.LTable]int{}}
	p.value(v)
	if len(p.refs) == 0 {
		return glua.LString(p.buf)
	}
	ud := L.NewUserData()
	ud.Value = &packedValue{data: string(p.buf), refs: p.refs}
	return ud
}

type unpacker struct {
	L       *glua.LState
	data    string
	pos     int
	strings []string
	tables  []*glua.LTable
	refs    []glua.LValue
}

var errPackCorrupt = errors.New("modhost.pack: corrupt packed value")

func (u *unpacker) byte() (byte, error) {
	if u.pos >= len(u.data) {
		return 0, errPackCorrupt
	}
	b := u.data[u.pos]
	u.pos++
	return b, nil
}

func (u *unpacker) uvarint64() (uint64, error) {
	var n uint64
	for shift := uint(0); shift < 64; shift += 7 {
		b, err := u.byte()
		if err != nil {
			return 0, err
		}
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return n, nil
		}
	}
	return 0, errPackCorrupt
}

// uvarint reads an index or a count, which never exceeds the packed size.
func (u *unpacker) uvarint() (int, error) {
	n, err := u.uvarint64()
	if err != nil || n > uint64(len(u.data)) {
		return 0, errPackCorrupt
	}
	return int(n), nil
}

// count reads a table size: every entry takes at least a byte, so a count
// beyond the bytes left is corruption, not a table to allocate.
func (u *unpacker) count() (int, error) {
	n, err := u.uvarint()
	if err != nil || n > len(u.data)-u.pos {
		return 0, errPackCorrupt
	}
	return n, nil
}

func (u *unpacker) value() (glua.LValue, error) {
	tag, err := u.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case packNil:
		return glua.LNil, nil
	case packFalse:
		return glua.LFalse, nil
	case packTrue:
		return glua.LTrue, nil
	case packInt:
		z, err := u.uvarint64()
		if err != nil {
			return nil, err
		}
		return glua.LNumber(int64(z>>1) ^ -int64(z&1)), nil // zigzag
	case packFloat:
		if len(u.data)-u.pos < 8 {
			return nil, errPackCorrupt
		}
		var bits uint64
		for i := 7; i >= 0; i-- {
			bits = bits<<8 | uint64(u.data[u.pos+i])
		}
		u.pos += 8
		return glua.LNumber(math.Float64frombits(bits)), nil
	case packString:
		n, err := u.count()
		if err != nil {
			return nil, err
		}
		// A substring: the value shares the packed bytes, no copy.
		s := u.data[u.pos : u.pos+n]
		u.pos += n
		u.strings = append(u.strings, s)
		return glua.LString(s), nil
	case packWord:
		w, err := u.byte()
		if err != nil || int(w) >= len(Words) {
			return nil, errPackCorrupt
		}
		return glua.LString(Words[w]), nil
	case packStrAgain:
		id, err := u.uvarint()
		if err != nil || id >= len(u.strings) {
			return nil, errPackCorrupt
		}
		return glua.LString(u.strings[id]), nil
	case packTable:
		return u.table()
	case packTabAgain:
		id, err := u.uvarint()
		if err != nil || id >= len(u.tables) {
			return nil, errPackCorrupt
		}
		return u.tables[id], nil
	case packRef:
		id, err := u.uvarint()
		if err != nil || id >= len(u.refs) {
			return nil, errPackCorrupt
		}
		return u.refs[id], nil
	}
	return nil, errPackCorrupt
}

func (u *unpacker) table() (glua.LValue, error) {
	var counts [3]int
	for i := range counts {
		n, err := u.count()
		if err != nil {
			return nil, err
		}
		counts[i] = n
	}
	narr, nstr, nother := counts[0], counts[1], counts[2]
	// Sized exactly: a table filled after {} would get room for 32 keys.
	t := u.L.CreateTable(narr, nstr)
	u.tables = append(u.tables, t)
	mt, err := u.value()
	if err != nil {
		return nil, err
	}
	if _, ok := mt.(*glua.LTable); ok {
		t.Metatable = mt
	} else if mt != glua.LNil {
		return nil, errPackCorrupt
	}
	for i := 1; i <= narr; i++ {
		v, err := u.value()
		if err != nil {
			return nil, err
		}
		t.RawSetInt(i, v)
	}
	for range nstr + nother {
		k, err := u.value()
		if err != nil {
			return nil, err
		}
		v, err := u.value()
		if err != nil {
			return nil, err
		}
		if k == glua.LNil {
			return nil, errPackCorrupt
		}
		t.RawSet(k, v)
	}
	return t, nil
}

// unpackValue is pack.unpack's work: nil stays nil.
func unpackValue(L *glua.LState, v glua.LValue) (glua.LValue, error) {
	u := &unpacker{L: L}
	switch v := v.(type) {
	case *glua.LNilType:
		return glua.LNil, nil
	case glua.LString:
		u.data = string(v)
	case *glua.LUserData:
		pv, ok := v.Value.(*packedValue)
		if !ok {
			return nil, fmt.Errorf("modhost.pack: unpack expects a packed value, got a foreign userdata")
		}
		u.data, u.refs = pv.data, pv.refs
	default:
		return nil, fmt.Errorf("modhost.pack: unpack expects a packed value, got %s", v.Type())
	}
	out, err := u.value()
	if err == nil && u.pos != len(u.data) {
		err = errPackCorrupt
	}
	return out, err
}

// openModhostPack is modhost.pack: pack(value) and unpack(packed), see above.
func openModhostPack(L *glua.LState) int {
	mod := L.CreateTable(0, 3)
	mod.RawSetString("pack", L.NewFunction(func(L *glua.LState) int {
		L.Push(packValue(L, L.Get(1)))
		return 1
	}))
	mod.RawSetString("unpack", L.NewFunction(func(L *glua.LState) int {
		v, err := unpackValue(L, L.Get(1))
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		L.Push(v)
		return 1
	}))
	// size(packed): the keys of the packed table (0 for another value).
	mod.RawSetString("size", L.NewFunction(func(L *glua.LState) int {
		n := 0
		switch v := L.Get(1).(type) {
		case glua.LString:
			n = packedSize(string(v))
		case *glua.LUserData:
			if pv, ok := v.Value.(*packedValue); ok {
				n = packedSize(pv.data)
			}
		}
		L.Push(glua.LNumber(n))
		return 1
	}))
	L.Push(mod)
	return 1
}

// Library is modhost.pack, for the runtime to offer plugins.
func Library() lua.Library { return lua.Library{Name: "modhost.pack", Open: openModhostPack} }

// Pack is pack.pack for Go code that keeps Lua values packed (the
// runtime's rosters held in Go, host/rosters.go): nil stays nil.
func Pack(L *glua.LState, v glua.LValue) glua.LValue { return packValue(L, v) }

// PackFlat is Pack without back references: every string in full, so that
// Go code can copy packed parts from one value to another
// (host/roster.Packed). False for a value that needs them (a table
// reached twice, functions, userdata, metatables).
func PackFlat(L *glua.LState, v glua.LValue) (string, bool) {
	p := &packer{L: L, flat: true, strings: map[string]int{}, tables: map[*glua.LTable]int{}}
	p.value(v)
	return string(p.buf), !p.failed
}

// Unpack is pack.unpack for Go code: fresh tables, every time.
func Unpack(L *glua.LState, packed glua.LValue) (glua.LValue, error) { return unpackValue(L, packed) }

// packedSize is how many keys the table packed at the start of data has
// (0 for anything else): mod_storage_memory's size of a whole value stored
// packed, which decides when its item saves are folded in.
func packedSize(data string) int {
	u := &unpacker{data: data}
	if tag, err := u.byte(); err != nil || tag != packTable {
		return 0
	}
	n := 0
	for range 3 {
		c, err := u.count()
		if err != nil {
			return 0
		}
		n += c
	}
	return n
}
