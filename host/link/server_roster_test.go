package link

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp/component"
	storagememory "github.com/modhost/modhost/plugins/mod_storage_memory"
)

// fakeWriter is a rosterWriter that is always ready and writes nothing:
// what the bridge decides to write is read off its queue.
type fakeWriter struct{}

func (fakeWriter) name() string                                        { return "fake" }
func (fakeWriter) ready() bool                                         { return true }
func (fakeWriter) canWrite() bool                                      { return true }
func (fakeWriter) canRead() bool                                       { return true }
func (fakeWriter) stored(it component.RosterItem) component.RosterItem { return it }
func (fakeWriter) write(context.Context, string, component.RosterItem) error {
	return nil
}

func (fakeWriter) read(context.Context, string) ([]component.RosterItem, error) {
	return nil, nil
}

func newTestBridge(w rosterWriter) *bridge {
	return &bridge{roster: w, log: slog.New(slog.NewTextHandler(io.Discard, nil)), writes: newWriteQueue(),
		queued: map[string]int{}, unsynced: map[string]bool{}, serverRoster: map[string]serverRoster{}, lastWrite: map[string]int{},
		reconciling: map[string]func() map[string]component.RosterItem{}, forgotten: map[string]int{}}
}

// written is what b queued since last asked, one line per set.
func written(b *bridge) []string {
	return itemLines(queuedItems(b))
}

// queuedItems is the sets b queued since last asked.
func queuedItems(b *bridge) []component.RosterItem {
	var out []component.RosterItem
	for _, w := range b.writes.take() {
		for items := w.items; items != ""; {
			var it component.RosterItem
			it, items = nextWrite(items)
			out = append(out, it)
		}
	}
	return out
}

func itemLine(it component.RosterItem) string {
	return fmt.Sprintf("%s name=%q sub=%s groups=%s", it.JID, it.Name, it.Subscription, strings.Join(it.Groups, "|"))
}

func itemLines(items []component.RosterItem) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, itemLine(it))
	}
	return out
}

func item(jid, name, sub string, groups ...string) component.RosterItem {
	return component.RosterItem{JID: jid, Name: name, Subscription: sub, Groups: groups}
}

func local(items ...component.RosterItem) map[string]component.RosterItem {
	out := map[string]component.RosterItem{}
	for _, it := range items {
		out[it.JID] = it
	}
	return out
}

func TestPackServerRosterSortsNormalisesAndKeepsTheLast(t *testing.T) {
	s := packServerRoster([]component.RosterItem{
		item("c@x", "C", "both", "Z", "A"),
		{JID: "a@x", Name: "A", Subscription: "", Ask: "subscribe"},
		item("b@x", "B old", "to"),
		item("d@x", "", "bogus", "G", "G"),
		item("b@x", "B", "from", "Friends"),
	})
	want := []string{
		`a@x name="A" sub=none groups=`,
		`b@x name="B" sub=from groups=Friends`,
		`c@x name="C" sub=both groups=A|Z`,
		`d@x name="" sub=bogus groups=G|G`,
	}
	if got := itemLines(s.items()); !slices.Equal(got, want) {
		t.Fatalf("packed roster reads\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.recent.len() != 0 || s.base.len() != 4 {
		t.Fatalf("base %d recent %d entries, want 4 and 0", s.base.len(), s.recent.len())
	}
	for _, jid := range []string{"a@x", "b@x", "c@x", "d@x"} {
		if _, ok := s.lookup(jid); !ok {
			t.Errorf("%s not found", jid)
		}
	}
	for _, jid := range []string{"", "0@x", "a", "a@xx", "bb@x", "e@x"} {
		if _, ok := s.lookup(jid); ok {
			t.Errorf("%q found, the server holds none", jid)
		}
	}
	var empty serverRoster
	if _, ok := empty.lookup("a@x"); ok || len(empty.items()) != 0 {
		t.Fatal("the zero serverRoster holds something")
	}
	if got := packServerRoster(nil); got.base.len() != 0 {
		t.Fatal("an empty read packs items")
	}
}

func TestBodiesAreEqualExactlyForTheSameItem(t *testing.T) {
	items := []component.RosterItem{
		item("a", "", ""), item("a", "", "none"), item("a", "x", "none"), item("a", "", "to"), item("a", "", "from"),
		item("a", "", "both"), item("a", "", "bogus"), item("a", "", "none", "G"), item("a", "", "none", "G", "H"),
		item("a", "", "none", "H", "G"), item("a", "", "none", "G", "G"), item("a", "G", "none"), item("a", "", "none", ""),
		{JID: "a", Ask: "subscribe"},
	}
	for _, x := range items {
		for _, y := range items {
			same := string(appendBody(nil, x)) == string(appendBody(nil, y))
			if same != sameItem(x, y) {
				t.Errorf("%s and %s: bodies equal %v, same item %v", itemLine(x), itemLine(y), same, sameItem(x, y))
			}
		}
	}
	groups := []string{"H", "G"}
	appendBody(nil, item("a", "", "none", groups...))
	if groups[0] != "H" {
		t.Fatal("appendBody sorted the caller's groups")
	}
}

func TestWriteDifferencesWritesOnlyWhatDiffers(t *testing.T) {
	b := newTestBridge(fakeWriter{})
	server := packServerRoster([]component.RosterItem{
		item("a@x", "A", "both", "G1", "G2"), item("b@x", "B", "both"), item("c@x", "C", "both"), item("e@x", "E", ""),
	})
	mine := local(item("a@x", "A", "both", "G2", "G1"), item("b@x", "B2", "both"), item("d@x", "D", "both", "New"),
		item("e@x", "E", "none"))
	b.writeDifferences("u", mine, server, true, nil)
	want := []string{`b@x name="B2" sub=both groups=`, `c@x name="" sub=remove groups=`, `d@x name="D" sub=both groups=New`}
	if got := written(b); !slices.Equal(got, want) {
		t.Fatalf("wrote\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b.queued["u"] != 3 {
		t.Fatalf("queued counts %d writes, want 3", b.queued["u"])
	}
	// The server now holds the local roster: the same comparison writes nothing.
	b.writeDifferences("u", mine, b.serverRoster["u"], true, nil)
	if got := written(b); len(got) != 0 {
		t.Fatalf("the same roster again wrote %q", got)
	}
	wantHeld := []string{`a@x name="A" sub=both groups=G1|G2`, `b@x name="B2" sub=both groups=`,
		`d@x name="D" sub=both groups=New`, `e@x name="E" sub=none groups=`}
	if got := itemLines(b.serverRoster["u"].items()); !slices.Equal(got, wantHeld) {
		t.Fatalf("server roster held\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantHeld, "\n"))
	}
}

func TestWriteDifferencesOfGivenContacts(t *testing.T) {
	b := newTestBridge(fakeWriter{})
	b.serverRoster["u"] = packServerRoster([]component.RosterItem{item("a@x", "A", "both"), item("b@x", "B", "both")})
	// b@x removed locally, z@x never held: only b@x's removal is written;
	// a@x unchanged; c@x new. a@x and b@x are not in jids' first place.
	b.mirrorItems("u", []component.RosterItem{
		item("c@x", "C", "both"), {JID: "b@x", Subscription: "remove"}, {JID: "z@x", Subscription: "remove"},
		item("a@x", "A", "both"),
	}, nil, packedCommit{})
	want := []string{`c@x name="C" sub=both groups=`, `b@x name="" sub=remove groups=`}
	if got := written(b); !slices.Equal(got, want) {
		t.Fatalf("wrote\n%s\nwant (in the order given)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := itemLines(b.serverRoster["u"].items()); !slices.Equal(got, []string{`a@x name="A" sub=both groups=`, `c@x name="C" sub=both groups=`}) {
		t.Fatalf("server roster held %q", got)
	}
	// A contact given twice is written once.
	b.writeDifferences("u", local(item("d@x", "D", "to")), b.serverRoster["u"], true, []string{"d@x", "d@x"})
	if got := written(b); !slices.Equal(got, []string{`d@x name="D" sub=to groups=`}) {
		t.Fatalf("a contact given twice: wrote %q", got)
	}
	// Unknown server roster: removals are written blindly, and the result
	// is what is known from then on.
	b.writeDifferences("v", local(item("a@x", "A", "both")), serverRoster{}, false, []string{"a@x", "gone@x"})
	if got := written(b); !slices.Equal(got, []string{`a@x name="A" sub=both groups=`, `gone@x name="" sub=remove groups=`}) {
		t.Fatalf("unknown server roster: wrote %q", got)
	}
	if got := itemLines(b.serverRoster["v"].items()); !slices.Equal(got, []string{`a@x name="A" sub=both groups=`}) {
		t.Fatalf("unknown server roster: held %q", got)
	}
	// Whole and unknown (a failed read): every local item written, no
	// removal (nothing is known to remove).
	b.writeDifferences("w", local(item("b@x", "B", "both"), item("a@x", "A", "both")), serverRoster{}, false, nil)
	if got := written(b); !slices.Equal(got, []string{`a@x name="A" sub=both groups=`, `b@x name="B" sub=both groups=`}) {
		t.Fatalf("whole, unknown: wrote %q", got)
	}
}

// The ejabberd API writer stores a ';' in a group name as ','; what it
// reads back, or wrote before, compares equal to the local item.
func TestWriteDifferencesComparesAsTheWriterStores(t *testing.T) {
	b := newTestBridge(&apiWriter{})
	mine := local(item("a@x", "A", "both", "x;y", "B"))
	b.writeDifferences("u", mine, serverRoster{}, true, nil)
	if got := written(b); !slices.Equal(got, []string{`a@x name="A" sub=both groups=x;y|B`}) {
		t.Fatalf("wrote %q, want the local item as it is", got)
	}
	b.writeDifferences("u", mine, b.serverRoster["u"], true, []string{"a@x"})
	if got := written(b); len(got) != 0 {
		t.Fatalf("written again: %q", got)
	}
	read := packServerRoster([]component.RosterItem{item("a@x", "A", "both", "B", "x,y")})
	b.writeDifferences("u", mine, read, true, nil)
	if got := written(b); len(got) != 0 {
		t.Fatalf("ejabberd's own form of the item was written again: %q", got)
	}
}

// Single-contact saves go to recent, which is merged into base before it
// grows past recentLimit; removals of what base does not hold are not kept.
func TestServerRosterRecentStaysSmall(t *testing.T) {
	var items []component.RosterItem
	for k := range 100 {
		items = append(items, item(fmt.Sprintf("c%03d@x", k), "C", "both", "Bench"))
	}
	b := newTestBridge(fakeWriter{})
	b.serverRoster["u"] = packServerRoster(items)
	limit := recentLimit(100)
	if limit != 10 {
		t.Fatalf("recentLimit(100) = %d, want 10", limit)
	}
	merged := false
	for round := 1; round <= 3*limit; round++ {
		jid := fmt.Sprintf("c%03d@x", round%100)
		b.mirrorItems("u", []component.RosterItem{item(jid, fmt.Sprintf("C v%d", round), "both", "Bench")}, nil, packedCommit{})
		s := b.serverRoster["u"]
		if s.recent.len() > limit {
			t.Fatalf("round %d: recent holds %d entries, over %d", round, s.recent.len(), limit)
		}
		if s.recent.len() == 0 {
			merged = true
		}
		if s.base.len()+s.recent.len() < 100 {
			t.Fatalf("round %d: %d+%d entries", round, s.base.len(), s.recent.len())
		}
		if got := written(b); len(got) != 1 {
			t.Fatalf("round %d: wrote %q", round, got)
		}
	}
	if !merged {
		t.Fatal("recent never merged into base")
	}
	b.mirrorItems("u", []component.RosterItem{{JID: "none@x", Subscription: "remove"}, item("new@x", "N", "both")}, nil, packedCommit{})
	b.mirrorItems("u", []component.RosterItem{{JID: "new@x", Subscription: "remove"}}, nil, packedCommit{})
	if s := b.serverRoster["u"]; s.recent.len() != 0 && strings.Contains(s.recent.data, "new@x") {
		t.Fatalf("recent keeps a removal of what base does not hold: %q", s.recent.data)
	}
	if got := written(b); !slices.Equal(got, []string{`new@x name="N" sub=both groups=`, `new@x name="" sub=remove groups=`}) {
		t.Fatalf("wrote %q", got)
	}
}

// sameItem is how the server's roster was compared before it was packed
// (a map of items per user): the reference the packed form must match.
func sameItem(a, b component.RosterItem) bool {
	if a.Name != b.Name || orDefault(a.Subscription, "none") != orDefault(b.Subscription, "none") || len(a.Groups) != len(b.Groups) {
		return false
	}
	ga, gb := slices.Sorted(slices.Values(a.Groups)), slices.Sorted(slices.Values(b.Groups))
	return slices.Equal(ga, gb)
}

// refWrite is writeDifferences as it was on a map: the writes it makes,
// and server changed to what it then holds.
func refWrite(local, server map[string]component.RosterItem, known bool, jids []string) []component.RosterItem {
	if jids == nil {
		for jid := range local {
			jids = append(jids, jid)
		}
		for jid := range server {
			if _, ok := local[jid]; !ok {
				jids = append(jids, jid)
			}
		}
		sort.Strings(jids)
	}
	var out []component.RosterItem
	for _, jid := range jids {
		want, keep := local[jid]
		have, held := server[jid]
		switch {
		case keep && held && sameItem(want, have):
		case keep:
			out = append(out, want)
			server[jid] = want
		case held || !known:
			out = append(out, component.RosterItem{JID: jid, Subscription: "remove"})
			delete(server, jid)
		}
	}
	return out
}

// Random saves, whole comparisons, reads and unknown rosters: the packed
// server roster writes what the map did, and holds what it held.
func TestServerRosterMatchesTheMapItReplaced(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"", "A", "B"}
	subs := []string{"", "none", "to", "from", "both"}
	groupSets := [][]string{nil, {"G"}, {"H", "G"}, {"G", "H"}, {"Bench"}}
	randomItem := func(jid string) component.RosterItem {
		return item(jid, names[rng.IntN(len(names))], subs[rng.IntN(len(subs))], slices.Clone(groupSets[rng.IntN(len(groupSets))])...)
	}
	for _, contacts := range []int{3, 40, 300} {
		b := newTestBridge(fakeWriter{})
		b.serverRoster["u"] = serverRoster{} // known: the server holds nothing
		ref := map[string]component.RosterItem{}
		mine := map[string]component.RosterItem{}
		jid := func() string { return fmt.Sprintf("c%d@x", rng.IntN(contacts)) }
		for step := range 3000 {
			var got, want []component.RosterItem
			switch op := rng.IntN(100); {
			case op < 80: // a save of a few contacts
				picked := map[string]bool{}
				var changed []component.RosterItem
				for range 1 + rng.IntN(3) {
					j := jid()
					if picked[j] {
						continue
					}
					picked[j] = true
					if rng.IntN(4) == 0 {
						delete(mine, j)
						changed = append(changed, component.RosterItem{JID: j, Subscription: "remove"})
					} else {
						mine[j] = randomItem(j)
						changed = append(changed, mine[j])
					}
				}
				jids := make([]string, 0, len(changed))
				for _, it := range changed {
					jids = append(jids, it.JID)
				}
				want = refWrite(mine, ref, true, jids)
				b.mirrorItems("u", changed, nil, packedCommit{})
			case op < 90: // the whole roster compared
				want = refWrite(mine, ref, true, nil)
				b.writeDifferences("u", mine, b.serverRoster["u"], true, nil)
			case op < 95: // the server's roster read (another writer changed it)
				var read []component.RosterItem
				ref = map[string]component.RosterItem{}
				for range rng.IntN(contacts) {
					it := randomItem(jid())
					read = append(read, it)
					ref[it.JID] = it
				}
				want = refWrite(mine, ref, true, nil)
				b.writeDifferences("u", mine, packServerRoster(read), true, nil)
			default: // a failed read: everything local written, nothing removed
				ref = map[string]component.RosterItem{}
				want = refWrite(mine, ref, false, nil)
				b.writeDifferences("u", mine, serverRoster{}, false, nil)
			}
			got = queuedItems(b)
			if g, w := itemLines(got), itemLines(want); !slices.Equal(g, w) {
				t.Fatalf("%d contacts, step %d: wrote\n%s\nwant\n%s", contacts, step, strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
			held := b.serverRoster["u"].items()
			if len(held) != len(ref) {
				t.Fatalf("%d contacts, step %d: holds %d items, want %d", contacts, step, len(held), len(ref))
			}
			for _, it := range held {
				if r, ok := ref[it.JID]; !ok || !sameItem(it, r) {
					t.Fatalf("%d contacts, step %d: holds %s, want %s", contacts, step, itemLine(it), itemLine(r))
				}
				if _, ok := b.serverRoster["u"].lookup(it.JID); !ok {
					t.Fatalf("%d contacts, step %d: %s not found", contacts, step, it.JID)
				}
			}
			s := b.serverRoster["u"]
			if s.recent.len() > recentLimit(s.base.len()) {
				t.Fatalf("%d contacts, step %d: recent holds %d", contacts, step, s.recent.len())
			}
		}
	}
}

// A save's writes are queued packed, one entry for the save, and read back
// as they were given: ask kept, groups in their order, removals.
func TestQueuedWritesReadBackAsGiven(t *testing.T) {
	items := []component.RosterItem{
		{JID: "a@x", Name: "Ä ;name", Subscription: "both", Ask: "subscribe", Groups: []string{"Z", "A", ""}},
		{JID: "b@x", Subscription: "remove"},
		{JID: "c@x", Subscription: "none", Groups: []string{}},
		{JID: strings.Repeat("long", 100) + "@x", Name: strings.Repeat("n", 300), Subscription: "to"},
	}
	var packed []byte
	for _, it := range items {
		packed = appendWrite(packed, it)
	}
	q := newWriteQueue()
	q.push("u", "", 0, false)
	q.push("u", string(packed), len(items), false)
	if q.queued() != len(items) {
		t.Fatalf("queued counts %d sets, want %d", q.queued(), len(items))
	}
	pending := q.take()
	if len(pending) != 1 || pending[0].user != "u" {
		t.Fatalf("queue holds %d entries, want one save of u", len(pending))
	}
	var got []component.RosterItem
	for rest := pending[0].items; rest != ""; {
		var it component.RosterItem
		it, rest = nextWrite(rest)
		got = append(got, it)
	}
	if len(got) != len(items) {
		t.Fatalf("read back %d items, want %d", len(got), len(items))
	}
	for i := range items {
		want := items[i]
		if len(want.Groups) == 0 {
			want.Groups = nil
		}
		if got[i].JID != want.JID || got[i].Name != want.Name || got[i].Subscription != want.Subscription ||
			got[i].Ask != want.Ask || !slices.Equal(got[i].Groups, want.Groups) {
			t.Errorf("item %d read back as %+v, want %+v", i, got[i], want)
		}
	}
}

// What writeDifferences queues for a save is one entry, counted per set,
// and b.queued[user] counts the sets too (a login's read compares it).
func TestWriteDifferencesQueuesOneEntryPerSave(t *testing.T) {
	b := newTestBridge(fakeWriter{})
	b.serverRoster["u"] = packServerRoster([]component.RosterItem{item("a@x", "A", "both")})
	before := b.writes.queued()
	b.mirrorItems("u", []component.RosterItem{item("b@x", "B", "both"), {JID: "a@x", Subscription: "remove"}, item("c@x", "C", "to")}, nil, packedCommit{})
	if n := b.writes.queued() - before; n != 3 || b.queued["u"] != 3 {
		t.Fatalf("queued %d sets (user count %d), want 3", n, b.queued["u"])
	}
	if pending := b.writes.take(); len(pending) != 1 {
		t.Fatalf("%d queue entries for one save, want 1", len(pending))
	}
	// Nothing differs: nothing queued, not even an empty entry.
	b.mirrorItems("u", []component.RosterItem{item("b@x", "B", "both")}, nil, packedCommit{})
	if pending := b.writes.take(); len(pending) != 0 || b.writes.queued() != before+3 {
		t.Fatalf("a save with no difference queued %d entries", len(pending))
	}
}

// packedCommitOf is the change Go makes to a packed roster: before holds
// items, after is it with changes made.
func packedCommitOf(t testing.TB, items []component.RosterItem, changes ...component.RosterItem) packedCommit {
	t.Helper()
	L := glua.NewState()
	defer L.Close()
	data, ok := storagememory.PackFlat(L, L.NewTable())
	if !ok {
		t.Fatal("an empty roster does not pack")
	}
	empty, ok := roster.ParsePacked(data)
	if !ok {
		t.Fatal("an empty packed roster does not parse")
	}
	toChanges := func(items []component.RosterItem) []roster.Change {
		var out []roster.Change
		for _, it := range items {
			if it.Subscription == "remove" {
				out = append(out, roster.Change{JID: it.JID})
				continue
			}
			out = append(out, roster.Change{JID: it.JID, Item: &roster.Item{Name: it.Name, Subscription: it.Subscription, Ask: it.Ask, Groups: it.Groups}})
		}
		return out
	}
	before := empty.With(toChanges(items))
	return packedCommit{before: before, after: before.With(toChanges(changes))}
}

// A commit Go made and mirrored leaves the server's roster remembered as
// the packed roster after it, no copy kept; the next commit from there
// writes only what changed and needs no comparison of the rest. Whatever
// else reads the mirror (a push a plugin sends, a whole roster result)
// compares with it as with a copy, and a difference makes it a copy again.
func TestServerRosterIsTheCommittedPackedRosterNotACopy(t *testing.T) {
	b := newTestBridge(fakeWriter{})
	var items []component.RosterItem
	for k := range 20 {
		items = append(items, item(fmt.Sprintf("c%02d@x", k), "C", "both", "Bench"))
	}
	// The login: the server's roster read (empty), the web app's applied.
	b.serverRoster["u"] = packServerRoster(nil)
	login := packedCommitOf(t, nil, items...)
	b.mirrorItems("u", items, nil, packedCommit{before: login.before, after: login.after})
	if got := written(b); len(got) != 20 {
		t.Fatalf("login wrote %d items, want 20", len(got))
	}
	s := b.serverRoster["u"]
	if s.mirror != login.after.Data() || s.base.len() != 0 || s.recent.len() != 0 {
		t.Fatalf("after the login's writes: mirror %v, base %d, recent %d; want the packed roster itself", s.mirror != "", s.base.len(), s.recent.len())
	}

	// A refresh changing one contact and removing another.
	refresh := packedCommit{before: login.after}
	changed := []component.RosterItem{item("c03@x", "Renamed", "both", "Bench"), {JID: "c04@x", Subscription: "remove"}}
	refresh.after = login.after.With([]roster.Change{{JID: "c03@x", Item: &roster.Item{Name: "Renamed", Subscription: "both", Groups: []string{"Bench"}}}, {JID: "c04@x"}})
	b.mirrorItems("u", changed, nil, refresh)
	want := []string{`c03@x name="Renamed" sub=both groups=Bench`, `c04@x name="" sub=remove groups=`}
	if got := written(b); !slices.Equal(got, want) {
		t.Fatalf("refresh wrote %q, want %q", got, want)
	}
	if s := b.serverRoster["u"]; s.mirror != refresh.after.Data() || s.base.len() != 0 {
		t.Fatal("after the refresh the server's roster is not the packed roster after it")
	}

	// The push of that change, as told to the client: nothing to write.
	b.mirrorTold("u", component.RosterSet("", "u@x", item("c03@x", "Renamed", "both", "Bench")), "set")
	if got := written(b); len(got) != 0 {
		t.Fatalf("the push of a mirrored change wrote %q", got)
	}
	// The whole roster as a result: nothing to write, still no copy.
	whole := expandedItems(b, refresh.after)
	b.writeDifferences("u", local(whole...), b.serverRoster["u"], true, nil)
	if got := written(b); len(got) != 0 {
		t.Fatalf("the whole mirrored roster compared with itself wrote %q", got)
	}
	if s := b.serverRoster["u"]; s.mirror != refresh.after.Data() {
		t.Fatal("a comparison that wrote nothing made the mirror a copy")
	}

	// A plugin's own push of something else: written, and remembered as a copy.
	b.mirrorTold("u", component.RosterSet("", "u@x", item("new@x", "N", "to")), "set")
	if got := written(b); !slices.Equal(got, []string{`new@x name="N" sub=to groups=`}) {
		t.Fatalf("a plugin's push wrote %q", got)
	}
	s = b.serverRoster["u"]
	if s.mirror != "" || s.base.len()+s.recent.len() != 20 {
		t.Fatalf("after a change of its own: mirror %v, %d+%d entries, want a copy of 20", s.mirror != "", s.base.len(), s.recent.len())
	}
	if body, ok := s.lookup("new@x"); !ok || body == "" {
		t.Fatal("the copy lacks the plugin's contact")
	}
	if _, ok := s.lookup("c04@x"); ok {
		t.Fatal("the copy holds the removed contact")
	}

	// The next commit from a roster the server does not hold (it has new@x):
	// only the change is written, and the copy stays, new@x in it.
	next := packedCommit{before: refresh.after, after: refresh.after.With([]roster.Change{{JID: "c05@x", Item: &roster.Item{Name: "Five", Subscription: "both"}}})}
	b.mirrorItems("u", []component.RosterItem{item("c05@x", "Five", "both")}, nil, next)
	if got := written(b); !slices.Equal(got, []string{`c05@x name="Five" sub=both groups=`}) {
		t.Fatalf("commit after a plugin's change wrote %q", got)
	}
	if s := b.serverRoster["u"]; s.mirror != "" {
		t.Fatal("the server's roster, which holds new@x, was taken for the packed roster, which does not")
	}
	// Once the server's roster is the packed one again, it is remembered so.
	again := packedCommit{before: next.after, after: next.after.With([]roster.Change{{JID: "new@x", Item: &roster.Item{Name: "N", Subscription: "to"}}})}
	b.mirrorItems("u", []component.RosterItem{item("new@x", "N", "to")}, nil, again)
	if got := written(b); len(got) != 0 {
		t.Fatalf("adding what the server holds wrote %q", got)
	}
	if s := b.serverRoster["u"]; s.mirror != again.after.Data() {
		t.Fatal("the server's roster equal to the packed one is still kept as a copy")
	}
}

// expandedItems is p's contacts as the server stores them.
func expandedItems(b *bridge, p *roster.Packed) []component.RosterItem {
	return serverRoster{mirror: p.Data()}.expanded(b.roster.stored).items()
}

// A roster result built from the packed roster that the server's roster is
// remembered as (its mirror) tells the client what the server holds: it
// is sent without being read back and compared (holdsAsServerRoster).
// Any other packed roster, or a server roster remembered as a copy, is
// compared as before.
func TestAnAnswerFromTheServersOwnRosterIsNotReadBack(t *testing.T) {
	b := newTestBridge(fakeWriter{})
	b.host = "example.com"
	items := []component.RosterItem{item("bob@example.com", "Bob", "both", "Friends"), item("carol@example.com", "", "both")}
	commit := packedCommitOf(t, items, item("dave@example.com", "Dave", "both"))
	b.serverRoster["alice"] = serverRoster{mirror: commit.before.Data()}
	b.mirrorItems("alice", []component.RosterItem{item("dave@example.com", "Dave", "both")}, nil, commit)
	const full = "alice@example.com/laptop"
	if !b.holdsAsServerRoster(full, commit.after.Data()) {
		t.Fatal("the committed roster the server's is a mirror of is compared again")
	}
	for name, packed := range map[string]string{"the roster before the commit": commit.before.Data(), "nothing": ""} {
		if b.holdsAsServerRoster(full, packed) {
			t.Errorf("an answer from %s is taken for the server's roster", name)
		}
	}
	if b.holdsAsServerRoster("bob@example.com/desk", commit.after.Data()) || b.holdsAsServerRoster("alice@elsewhere.org/x", commit.after.Data()) {
		t.Error("another user's (or host's) answer is taken for alice's server roster")
	}
	// A push that changes what the client holds makes the server's roster a
	// copy: the same packed roster is compared again.
	push := component.RosterSet("roster.example.com", "alice@example.com", item("bob@example.com", "Robert", "both"))
	b.mirrorTold("alice", push, "set")
	if b.holdsAsServerRoster(full, commit.after.Data()) {
		t.Error("after a change the server's roster is still taken for the committed one")
	}
}
