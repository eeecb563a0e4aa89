package roster

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"unsafe"

	storagememory "github.com/modhost/modhost/plugins/mod_storage_memory"
)

// Packed is a roster in modhost.pack's form (plugins/mod_storage_memory)
// that Go reads and changes without unpacking it into Lua tables: each
// contact is a run of bytes that a change copies as it is, or replaces.
// That works for a packed roster with no back references (a string or
// table given again by its index): Go writes rosters that way (Flat), and
// one packed by Lua is made so once (host/rosters.go).
type Packed struct {
	data  string
	meta  span // the value of roster[false]; zero when there is none
	items []entry
}

type span struct{ start, end int }

// entry is where one contact is in data: its key (the JID, a packed string
// or word), and its value from val to end. Offsets, not a string and a
// span: 12 bytes a contact where those took 32, for every contact of
// every online user.
type entry struct {
	key, val, end uint32
}

func (e entry) span() span { return span{int(e.val), int(e.end)} }

// Item is a roster item as a push writes it.
type Item struct {
	Name         string // "" for none
	Subscription string
	Ask          string
	Groups       []string
}

// Change is the new state of one contact: Item nil removes it.
type Change struct {
	JID  string
	Item *Item
}

// Len is how many contacts p holds.
func (p *Packed) Len() int { return len(p.items) }

// JID is the contact at i (0 ≤ i < Len).
func (p *Packed) JID(i int) string {
	r := reader{data: p.data, pos: int(p.items[i].key)}
	jid, _ := r.str() // read once already, by ParsePacked or With
	return jid
}

// Data is p's packed bytes, as modhost.pack.unpack reads them.
func (p *Packed) Data() string { return p.data }

// Version is roster[false].version as a push's ver carries it ("1" if
// none).
func (p *Packed) Version() string {
	if p.meta.end == 0 {
		return "1"
	}
	r := reader{data: p.data, pos: p.meta.start}
	var version string
	ok := r.table(func(key string, _ bool, val span) bool {
		if key == "version" {
			version = numberText(p.data[val.start:val.end])
		}
		return true
	})
	if !ok || version == "" {
		return "1"
	}
	return version
}

// ParsePacked reads data (a packed roster) as a Packed, or reports false
// for what Go does not edit: a metatable or array part, keys other than
// strings and false, back references.
func ParsePacked(data string) (*Packed, bool) {
	if uint64(len(data)) > math.MaxUint32 {
		return nil, false
	}
	p := &Packed{data: data}
	// The header says how many string keys follow: one allocation for
	// their entries, not a slice grown to 2× over every refresh's parse.
	if h := (reader{data: data}); len(data) > 0 && data[0] == storagememory.TagTable {
		h.pos = 1
		if narr, ok := h.uvarint(); ok && narr == 0 {
			if nstr, ok := h.uvarint(); ok {
				p.items = make([]entry, 0, nstr)
			}
		}
	}
	keyAt := 0
	r := reader{data: data, onKey: func(at int) { keyAt = at }}
	ok := r.table(func(key string, isFalse bool, val span) bool {
		switch {
		case isFalse:
			p.meta = val
		case key == "":
			return false // another kind of key
		default:
			p.items = append(p.items, entry{key: uint32(keyAt), val: uint32(val.start), end: uint32(val.end)})
		}
		return true
	})
	if !ok || r.pos != len(data) {
		return nil, false
	}
	if p.meta.end != 0 { // the metadata is a plain table too
		m := reader{data: data, pos: p.meta.start}
		if !m.table(func(string, bool, span) bool { return true }) {
			return nil, false
		}
	}
	return p, true
}

// Item reads the contact at i: false when it is not a plain item (not a
// table; a metatable; a name, subscription or ask that is not a string;
// groups that are not a plain set of names). Keys it does not know are
// left out.
func (p *Packed) Item(i int) (Item, bool) {
	var it Item
	r := reader{data: p.data, pos: int(p.items[i].val)}
	ok := r.table(func(key string, _ bool, val span) bool {
		v := reader{data: p.data, pos: val.start}
		switch key {
		case "name", "subscription", "ask":
			s, ok := v.str()
			if !ok {
				return p.data[val.start] == storagememory.TagNil || (key == "ask" && p.data[val.start] == storagememory.TagFalse)
			}
			switch key {
			case "name":
				it.Name = s
			case "subscription":
				it.Subscription = s
			default:
				it.Ask = s
			}
		case "groups":
			return v.table(func(group string, _ bool, in span) bool {
				if group == "" {
					return false
				}
				if t := p.data[in.start]; t != storagememory.TagNil && t != storagememory.TagFalse {
					it.Groups = append(it.Groups, group)
				}
				return true
			})
		}
		return true
	})
	slices.Sort(it.Groups)
	return it, ok
}

// Same reports whether the contact at i says what it does: its bytes are
// want's as Flat writes them, or it reads as the same item.
func (p *Packed) Same(i int, want *Item, scratch []byte) (bool, []byte) {
	scratch = appendItem(scratch[:0], want)
	v := p.items[i].span()
	if p.data[v.start:v.end] == string(scratch) {
		return true, scratch
	}
	got, ok := p.Item(i)
	return ok && got.Name == want.Name && got.Subscription == want.Subscription && got.Ask == want.Ask &&
		slices.Equal(got.Groups, want.Groups), scratch
}

// With is p with changes made (each JID at most once) and its version
// counted up, as one save of the whole roster counts it.
func (p *Packed) With(changes []Change) *Packed {
	replaced := p.replacedBy(changes)
	size := len(p.data) + 16
	nstr := 0
	for _, c := range changes {
		if c.Item != nil {
			size += 64 + len(c.JID)
			nstr++
		}
	}
	kept := len(p.items)
	for _, r := range replaced {
		if r {
			kept--
		}
	}
	nstr += kept
	out := make([]byte, 0, size)
	out = append(out, storagememory.TagTable)
	out = binary.AppendUvarint(out, 0)
	out = binary.AppendUvarint(out, uint64(nstr))
	out = binary.AppendUvarint(out, 1)
	out = append(out, storagememory.TagNil)
	next := &Packed{items: make([]entry, 0, nstr)}
	out = append(out, storagememory.TagFalse)
	start := len(out)
	out = p.appendMeta(out)
	next.meta = span{start, len(out)}
	for i, e := range p.items {
		if replaced != nil && replaced[i] {
			continue
		}
		// The key and its value are one run of bytes: copied as they are.
		at := uint32(len(out))
		out = append(out, p.data[e.key:e.end]...)
		next.items = append(next.items, entry{key: at, val: at + (e.val - e.key), end: uint32(len(out))})
	}
	for _, c := range changes {
		if c.Item == nil {
			continue
		}
		at := uint32(len(out))
		out = appendString(out, c.JID)
		val := uint32(len(out))
		out = appendItem(out, c.Item)
		next.items = append(next.items, entry{key: at, val: val, end: uint32(len(out))})
	}
	// The bytes are kept as long as the roster is: made a string in place
	// unless the estimate left much unused, when an exact copy is cheaper
	// to keep.
	if cap(out)-len(out) > len(out)/8 {
		next.data = string(out)
	} else {
		next.data = unsafe.String(unsafe.SliceData(out), len(out))
	}
	return next
}

// replacedBy says which of p's contacts changes replace (or remove), by
// index: nil when none is (p is empty, a login's first roster). A
// refresh changes a contact or two: those are looked for one by one, as a
// map of them cost more than the comparisons.
func (p *Packed) replacedBy(changes []Change) []bool {
	if len(p.items) == 0 || len(changes) == 0 {
		return nil
	}
	replaced := make([]bool, len(p.items))
	if len(changes) <= 8 {
		for i := range p.items {
			jid := p.JID(i)
			for _, c := range changes {
				if c.JID == jid {
					replaced[i] = true
					break
				}
			}
		}
		return replaced
	}
	byJID := make(map[string]bool, len(changes))
	for _, c := range changes {
		byJID[c.JID] = true
	}
	for i := range p.items {
		replaced[i] = byJID[p.JID(i)]
	}
	return replaced
}

// appendMeta writes roster[false] with its version counted up (1 when it
// had none; true stays true), and pending as it was ({} when none).
func (p *Packed) appendMeta(out []byte) []byte {
	type pair struct{ key, val span }
	var pairs []pair
	version, pending := "", false
	if p.meta.end != 0 {
		r := reader{data: p.data, pos: p.meta.start}
		keyStart := 0
		r.onKey = func(at int) { keyStart = at }
		r.table(func(key string, _ bool, val span) bool {
			switch key {
			case "version":
				version = p.data[val.start:val.end]
				return true
			case "pending":
				pending = true
			}
			pairs = append(pairs, pair{span{keyStart, val.start}, val})
			return true
		})
	}
	out = append(out, storagememory.TagTable)
	out = binary.AppendUvarint(out, 0)
	n := len(pairs) + 1
	if !pending {
		n++
	}
	out = binary.AppendUvarint(out, uint64(n))
	out = binary.AppendUvarint(out, 0)
	out = append(out, storagememory.TagNil)
	out = appendString(out, "version")
	out = appendNextVersion(out, version)
	if !pending {
		out = appendString(out, "pending")
		out = append(out, storagememory.TagTable, 0, 0, 0, storagememory.TagNil)
	}
	for _, pr := range pairs {
		out = append(out, p.data[pr.key.start:pr.val.end]...)
	}
	return out
}

// appendNextVersion writes the version after the packed number old.
func appendNextVersion(out []byte, old string) []byte {
	if old == string(storagememory.TagTrue) {
		return append(out, storagememory.TagTrue)
	}
	n := 0.0
	r := reader{data: old}
	if v, ok := r.number(); ok {
		n = v
	}
	return appendNumber(out, n+1)
}

// numberText is a packed number (or true) as tostring writes it.
func numberText(packed string) string {
	if packed == string(storagememory.TagTrue) {
		return "true"
	}
	r := reader{data: packed}
	n, ok := r.number()
	if !ok {
		return ""
	}
	if n == math.Trunc(n) && math.Abs(n) < 1e15 {
		return strconv.FormatInt(int64(n), 10)
	}
	return strconv.FormatFloat(n, 'g', 14, 64)
}

func appendNumber(out []byte, n float64) []byte {
	if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
		out = append(out, storagememory.TagInt)
		return binary.AppendVarint(out, int64(n))
	}
	out = append(out, storagememory.TagFloat)
	return binary.LittleEndian.AppendUint64(out, math.Float64bits(n))
}

// appendString writes s as modhost.pack does, without back references.
func appendString(out []byte, s string) []byte {
	for i, w := range storagememory.Words {
		if w == s {
			return append(out, storagememory.TagWord, byte(i))
		}
	}
	out = append(out, storagememory.TagString)
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

// appendItem writes it as core.rostermanager keeps an item: { name,
// groups = { [group] = true }, subscription, ask }, always in this order.
func appendItem(out []byte, it *Item) []byte {
	n := 2
	if it.Name != "" {
		n++
	}
	if it.Ask != "" {
		n++
	}
	out = append(out, storagememory.TagTable, 0)
	out = binary.AppendUvarint(out, uint64(n))
	out = append(out, 0, storagememory.TagNil)
	if it.Name != "" {
		out = appendString(out, "name")
		out = appendString(out, it.Name)
	}
	out = appendString(out, "groups")
	out = append(out, storagememory.TagTable, 0)
	out = binary.AppendUvarint(out, uint64(len(it.Groups)))
	out = append(out, 0, storagememory.TagNil)
	for _, g := range it.Groups {
		out = appendString(out, g)
		out = append(out, storagememory.TagTrue)
	}
	out = appendString(out, "subscription")
	out = appendString(out, it.Subscription)
	if it.Ask != "" {
		out = appendString(out, "ask")
		out = appendString(out, it.Ask)
	}
	return out
}

// reader walks packed bytes; pos is the next one.
type reader struct {
	data  string
	pos   int
	onKey func(at int) // called where each key of the table being read starts
}

func (r *reader) byte() (byte, bool) {
	if r.pos >= len(r.data) {
		return 0, false
	}
	r.pos++
	return r.data[r.pos-1], true
}

func (r *reader) uvarint() (int, bool) {
	// One byte: every count and nearly every length in a roster.
	if r.pos < len(r.data) && r.data[r.pos] < 0x80 {
		n := int(r.data[r.pos])
		if n > len(r.data) {
			return 0, false
		}
		r.pos++
		return n, true
	}
	n, w := binary.Uvarint([]byte(r.data[r.pos:min(len(r.data), r.pos+10)]))
	if w <= 0 || n > uint64(len(r.data)) {
		return 0, false
	}
	r.pos += w
	return int(n), true
}

// str reads a string value.
func (r *reader) str() (string, bool) {
	tag, ok := r.byte()
	if !ok {
		return "", false
	}
	switch tag {
	case storagememory.TagWord:
		w, ok := r.byte()
		if !ok || int(w) >= len(storagememory.Words) {
			return "", false
		}
		return storagememory.Words[w], true
	case storagememory.TagString:
		n, ok := r.uvarint()
		if !ok || r.pos+n > len(r.data) {
			return "", false
		}
		r.pos += n
		return r.data[r.pos-n : r.pos], true
	}
	r.pos--
	return "", false
}

// number reads a number value.
func (r *reader) number() (float64, bool) {
	tag, ok := r.byte()
	if !ok {
		return 0, false
	}
	switch tag {
	case storagememory.TagInt:
		z, w := binary.Varint([]byte(r.data[r.pos:min(len(r.data), r.pos+10)]))
		if w <= 0 {
			return 0, false
		}
		r.pos += w
		return float64(z), true
	case storagememory.TagFloat:
		if r.pos+8 > len(r.data) {
			return 0, false
		}
		bits := binary.LittleEndian.Uint64([]byte(r.data[r.pos : r.pos+8]))
		r.pos += 8
		return math.Float64frombits(bits), true
	}
	return 0, false
}

// skip passes one value; false for a back reference or corruption.
func (r *reader) skip() bool {
	tag, ok := r.byte()
	if !ok {
		return false
	}
	switch tag {
	case storagememory.TagNil, storagememory.TagFalse, storagememory.TagTrue:
		return true
	case storagememory.TagInt:
		_, w := binary.Varint([]byte(r.data[r.pos:min(len(r.data), r.pos+10)]))
		r.pos += w
		return w > 0
	case storagememory.TagFloat:
		r.pos += 8
		return r.pos <= len(r.data)
	case storagememory.TagWord:
		r.pos++
		return r.pos <= len(r.data)
	case storagememory.TagString:
		n, ok := r.uvarint()
		r.pos += n
		return ok && r.pos <= len(r.data)
	case storagememory.TagTable:
		r.pos--
		inner := reader{data: r.data, pos: r.pos}
		ok := inner.table(nil)
		r.pos = inner.pos
		return ok
	}
	return false // back references ('r', '@', 'x') and unknown tags
}

// table reads a table with no array part, calling each(key, isFalse,
// value) for every pair: key is "" for keys other than strings. It stops
// with false where each does or the bytes are not such a table.
func (r *reader) table(each func(key string, isFalse bool, val span) bool) bool {
	if tag, ok := r.byte(); !ok || tag != storagememory.TagTable {
		return false
	}
	var counts [3]int
	for i := range counts {
		n, ok := r.uvarint()
		if !ok {
			return false
		}
		counts[i] = n
	}
	if counts[0] != 0 {
		return false
	}
	if tag, ok := r.byte(); !ok || tag != storagememory.TagNil {
		return false // a metatable
	}
	for range counts[1] + counts[2] {
		if r.onKey != nil {
			r.onKey(r.pos)
		}
		key, isFalse := "", false
		if s, ok := r.str(); ok {
			key = s
		} else {
			tag, ok := r.byte()
			if !ok {
				return false
			}
			isFalse = tag == storagememory.TagFalse
			if !isFalse {
				r.pos--
				if !r.skip() {
					return false
				}
			}
		}
		start := r.pos
		if !r.skip() {
			return false
		}
		if each != nil && !each(key, isFalse, span{start, r.pos}) {
			return false
		}
	}
	return true
}
