package link

import (
	"encoding/binary"
	"slices"
	"sort"
	"strings"

	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp/component"
)

// serverRoster is the roster the server holds of one user as modhost last
// read or wrote it (bridge.serverRoster), kept to diff saves against. It
// holds only what a privileged set writes: name, subscription and groups,
// not ask (the server's own state). It is packed: a few strings
// and slices per user, none per contact (a Go map of items per user cost
// ~210 bytes a contact: BenchmarkServerRosterHeap).
//
// base holds the items as last packed; recent the changes since (an item
// written, or a removal), so that a save of one contact does not pack the
// whole roster again: recent is merged into base once it holds more than
// recentLimit(base) entries, so n single-contact saves cost O(n·√n), not
// O(n²). The zero serverRoster holds nothing.
//
// mirror, when set, says instead that the server holds a packed local
// roster's items (host/roster's form: the very string the roster store
// holds), as stored (writer.stored; name, subscription and groups); base
// and recent are then empty. A user whose server roster is the local one,
// as after every commit Go made and mirrored, costs no copy of it (5 KiB a
// user of 100 contacts). Only writeDifferences reads a mirror: a few
// contacts it looks up where they are; anything more it expands first.
type serverRoster struct {
	base   packedItems // no removals
	recent packedItems // overrides base: items and removals
	mirror string
}

// packedItems is a list of items sorted by JID (each at most once), packed
// into data; at holds where each starts. An entry is:
//
//	uvarint len(jid), jid
//	byte: subscription (subNone … subBoth; subOther then uvarint len, text;
//	      subRemoved: a removal, and nothing follows)
//	uvarint len(name), name
//	uvarint len(groups), then each group sorted: uvarint len, text
//
// The bytes after the JID (the body) are the same for two items exactly
// when they have the same name, the same subscription ("" being none) and
// the same groups in any order, so a comparison is one of bytes.
type packedItems struct {
	data string
	at   []uint32
}

const (
	subNone byte = iota
	subTo
	subFrom
	subBoth
	subOther
	subRemoved
)

// removedBody is the body of a removal.
const removedBody = string(subRemoved)

func (p *packedItems) len() int { return len(p.at) }

// entry is the bytes of item i.
func (p *packedItems) entry(i int) string {
	end := len(p.data)
	if i+1 < len(p.at) {
		end = int(p.at[i+1])
	}
	return p.data[p.at[i]:end]
}

// split parses an entry into its JID and body.
func split(entry string) (jid, body string) { return cutText(entry) }

// cutText reads a text as appendText writes it off the front of s.
func cutText(s string) (text, rest string) {
	n, w := uvarint(s)
	return s[w : w+n], s[w+n:]
}

// uvarint reads a uvarint off the front of s: its value and width.
func uvarint(s string) (int, int) {
	var n uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		n |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return int(n), i + 1
		}
	}
	panic("link: corrupt packed server roster")
}

func (p *packedItems) jid(i int) string {
	jid, _ := split(p.entry(i))
	return jid
}

// find returns the body of jid's entry; false if p has none.
func (p *packedItems) find(jid string) (string, bool) {
	i := sort.Search(p.len(), func(i int) bool { return p.jid(i) >= jid })
	if i == p.len() {
		return "", false
	}
	j, body := split(p.entry(i))
	return body, j == jid
}

// appendBody writes the body of it, as held by the server: subscription ""
// is none, groups sorted (it.Groups is not changed).
func appendBody(out []byte, it component.RosterItem) []byte {
	switch it.Subscription {
	case "", "none":
		out = append(out, subNone)
	case "to":
		out = append(out, subTo)
	case "from":
		out = append(out, subFrom)
	case "both":
		out = append(out, subBoth)
	default:
		out = append(out, subOther)
		out = appendText(out, it.Subscription)
	}
	out = appendText(out, it.Name)
	groups := it.Groups
	if !slices.IsSorted(groups) {
		groups = slices.Sorted(slices.Values(groups))
	}
	out = binary.AppendUvarint(out, uint64(len(groups)))
	for _, g := range groups {
		out = appendText(out, g)
	}
	return out
}

func appendText(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

// itemOf reads a body back (for tests and logs); false for a removal.
func itemOf(jid, body string) (component.RosterItem, bool) {
	r := body
	text := func() string {
		var s string
		s, r = cutText(r)
		return s
	}
	it := component.RosterItem{JID: jid}
	sub := r[0]
	r = r[1:]
	switch sub {
	case subRemoved:
		return component.RosterItem{}, false
	case subNone:
		it.Subscription = "none"
	case subTo:
		it.Subscription = "to"
	case subFrom:
		it.Subscription = "from"
	case subBoth:
		it.Subscription = "both"
	default:
		it.Subscription = text()
	}
	it.Name = text()
	n, w := uvarint(r)
	r = r[w:]
	for range n {
		it.Groups = append(it.Groups, text())
	}
	return it, true
}

// change is one entry to pack: a JID and its body.
type change struct{ jid, body string }

// pack packs changes, sorted by JID; of several for one JID the last is
// kept. dropRemoved leaves removals out.
func pack(changes []change, dropRemoved bool) packedItems {
	slices.SortStableFunc(changes, func(a, b change) int { return strings.Compare(a.jid, b.jid) })
	size, n := 0, 0
	for i, c := range changes {
		if i+1 < len(changes) && changes[i+1].jid == c.jid || dropRemoved && c.body == removedBody {
			continue
		}
		size += binary.MaxVarintLen64 + len(c.jid) + len(c.body)
		n++
	}
	if n == 0 {
		return packedItems{}
	}
	out := make([]byte, 0, size)
	at := make([]uint32, 0, n)
	for i, c := range changes {
		if i+1 < len(changes) && changes[i+1].jid == c.jid || dropRemoved && c.body == removedBody {
			continue
		}
		at = append(at, uint32(len(out)))
		out = appendText(out, c.jid)
		out = append(out, c.body...)
	}
	return packedItems{data: string(out), at: at}
}

// merge is a with over's entries put in (over wins). dropRemoved leaves
// removals out (merging into base); otherwise a removal of a JID that held
// (as given by held) does not hold is left out too, as needless.
func merge(a, over packedItems, dropRemoved bool, held func(jid string) bool) packedItems {
	out := make([]byte, 0, len(a.data)+len(over.data))
	at := make([]uint32, 0, a.len()+over.len())
	put := func(entry string) {
		at = append(at, uint32(len(out)))
		out = append(out, entry...)
	}
	i, j := 0, 0
	for i < a.len() || j < over.len() {
		var cmp int
		switch {
		case i == a.len():
			cmp = 1
		case j == over.len():
			cmp = -1
		default:
			cmp = strings.Compare(a.jid(i), over.jid(j))
		}
		if cmp < 0 {
			put(a.entry(i))
			i++
			continue
		}
		if cmp == 0 {
			i++
		}
		e := over.entry(j)
		j++
		if jid, body := split(e); body == removedBody && (dropRemoved || held != nil && !held(jid)) {
			continue
		}
		put(e)
	}
	if len(at) == 0 {
		return packedItems{}
	}
	return packedItems{data: string(out), at: slices.Clip(at)}
}

// mirrorLookups is how many contacts writeDifferences looks up in a mirror
// where it is (each a walk of the packed roster); more and the mirror is
// expanded first.
const mirrorLookups = 8

// expanded is s with a mirror made base (s as it is without one).
func (s serverRoster) expanded(stored func(component.RosterItem) component.RosterItem) serverRoster {
	if s.mirror == "" {
		return s
	}
	p, ok := roster.ParsePacked(s.mirror)
	if !ok {
		return serverRoster{} // not made a mirror: Go packs every roster it commits
	}
	items := make([]component.RosterItem, 0, p.Len())
	for i := range p.Len() {
		if it, ok := packedItem(p, i); ok {
			items = append(items, stored(it))
		}
	}
	return packServerRoster(items)
}

// packedItem is contact i of p as a roster item; false for what is not one
// (as localItem reads a roster table).
func packedItem(p *roster.Packed, i int) (component.RosterItem, bool) {
	jid := p.JID(i)
	it, ok := p.Item(i)
	if !ok || jid == "pending" {
		return component.RosterItem{}, false
	}
	return component.RosterItem{JID: jid, Name: it.Name, Subscription: orDefault(it.Subscription, "none"), Ask: it.Ask, Groups: it.Groups}, true
}

// mirrorView looks contacts up in a mirror where they are.
type mirrorView struct {
	p       *roster.Packed
	stored  func(component.RosterItem) component.RosterItem
	scratch []byte
}

// lookup is serverRoster.lookup for a mirror: a walk of the packed roster.
func (v *mirrorView) lookup(jid string) (string, bool) {
	for i := range v.p.Len() {
		if v.p.JID(i) != jid {
			continue
		}
		it, ok := packedItem(v.p, i)
		if !ok {
			return "", false
		}
		v.scratch = appendBody(v.scratch[:0], v.stored(it))
		return string(v.scratch), true
	}
	return "", false
}

// packServerRoster is the server's roster as read (items in any order; of
// several for one JID the last counts).
func packServerRoster(items []component.RosterItem) serverRoster {
	var bodies []byte
	ends := make([]int, len(items))
	for i, it := range items {
		bodies = appendBody(bodies, it)
		ends[i] = len(bodies)
	}
	all := string(bodies)
	changes := make([]change, len(items))
	start := 0
	for i, it := range items {
		changes[i] = change{jid: it.JID, body: all[start:ends[i]]}
		start = ends[i]
	}
	return serverRoster{base: pack(changes, true)}
}

// lookup returns the body of jid's item as the server holds it; false if
// it holds none.
func (s serverRoster) lookup(jid string) (string, bool) {
	if body, ok := s.recent.find(jid); ok {
		return body, body != removedBody
	}
	return s.base.find(jid)
}

// compacted is s with recent merged into base.
func (s serverRoster) compacted() serverRoster {
	if s.recent.len() == 0 {
		return s
	}
	return serverRoster{base: merge(s.base, s.recent, true, nil)}
}

// recentLimit is how many entries recent may hold over base before they
// are merged: √n, at least 8.
func recentLimit(base int) int {
	n := 8
	for n*n < base {
		n++
	}
	return n
}

// with is s with changes made (bodies as appendBody writes them, or
// removedBody; the last for a JID counts).
func (s serverRoster) with(changes []change) serverRoster {
	if len(changes) == 0 {
		return s
	}
	held := func(jid string) bool { _, ok := s.base.find(jid); return ok }
	recent := merge(s.recent, pack(changes, false), false, held)
	if recent.len() > recentLimit(s.base.len()) {
		return serverRoster{base: merge(s.base, recent, true, nil)}
	}
	return serverRoster{base: s.base, recent: recent}
}

// items is s as items, sorted by JID (for tests).
func (s serverRoster) items() []component.RosterItem {
	c := s.compacted()
	out := make([]component.RosterItem, 0, c.base.len())
	for i := range c.base.len() {
		if it, ok := itemOf(split(c.base.entry(i))); ok {
			out = append(out, it)
		}
	}
	return out
}
