package link

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/modhost/modhost/host/roster"
	"github.com/modhost/modhost/host/xmpp/component"
)

// parsedItems is a roster as ParseRoster gives it from the server, shaped
// as the bench's (cmd/modhost-bench): every string its own allocation.
func parsedItems(contacts, version int) []component.RosterItem {
	out := make([]component.RosterItem, contacts)
	for k := range out {
		out[k] = component.RosterItem{JID: fmt.Sprintf("contact%03d@example.com", k), Name: fmt.Sprintf("Contact %d v%d", k, version),
			Subscription: strings.Clone("both"), Groups: []string{strings.Clone("Bench")}}
	}
	return out
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkServerRosterHeap is the live heap the link keeps per online
// user for the server's roster (bridge.serverRoster), beside the packed
// rosters the roster store holds: b.N users whose server roster is read
// at login (empty, as for the bench's users) and the web app's 100
// contacts committed and mirrored, then one refresh changing one contact
// each, as setup C of cmd/modhost-bench does. Each server roster is then
// the committed packed roster itself, so the link's share is its entry.
func BenchmarkServerRosterHeap(b *testing.B) {
	const contacts = 100
	br := newTestBridge(fakeWriter{})
	users := make([]string, b.N)
	logins := make([]packedCommit, b.N)
	refreshes := make([]packedCommit, b.N)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
		logins[i] = packedCommitOf(b, nil, parsedItems(contacts, 0)...)
		refreshes[i] = packedCommitOf(b, parsedItems(contacts, 0), parsedItems(1, 1)...)
		refreshes[i].before = logins[i].after
	}
	before := heapNow()
	for i, user := range users {
		br.serverRoster[user] = packServerRoster(nil)
		br.mirrorItems(user, parsedItems(contacts, 0), nil, logins[i])
	}
	br.writes.take()
	loggedIn := heapNow()
	for i, user := range users {
		br.mirrorItems(user, parsedItems(1, 1), nil, refreshes[i])
	}
	br.writes.take()
	refreshed := heapNow()
	b.ReportMetric((float64(loggedIn)-float64(before))/float64(b.N)/1024, "login-KiB/user")
	b.ReportMetric((float64(refreshed)-float64(before))/float64(b.N)/1024, "refreshed-KiB/user")
	runtime.KeepAlive(br)
	runtime.KeepAlive(logins)
	runtime.KeepAlive(refreshes)
}

// BenchmarkServerRosterRefresh is one refresh changing one contact of a
// user's 100-contact roster: the host's packed commit (roster.Packed.With)
// and the link's part (mirrorItems: the diff against the server's roster,
// the write queued, the result kept).
func BenchmarkServerRosterRefresh(b *testing.B) {
	const users = 100
	br := newTestBridge(fakeWriter{})
	rosters := make([]*roster.Packed, users)
	for u := range users {
		c := packedCommitOf(b, nil, parsedItems(100, 0)...)
		br.serverRoster[fmt.Sprint(u)] = serverRoster{mirror: c.after.Data()}
		rosters[u] = c.after
	}
	changes := make([][]component.RosterItem, 100)
	for k := range changes {
		it := parsedItems(100, 1)[k]
		changes[k] = []component.RosterItem{it}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := changes[(i/users)%100]
		c[0].Name = fmt.Sprintf("Contact %d v%d", (i/users)%100, i)
		u := i % users
		before := rosters[u]
		rosters[u] = before.With([]roster.Change{{JID: c[0].JID, Item: &roster.Item{Name: c[0].Name, Subscription: c[0].Subscription, Groups: c[0].Groups}}})
		br.mirrorItems(fmt.Sprint(u), c, nil, packedCommit{before: before, after: rosters[u]})
		if i%1000 == 0 {
			br.writes.take()
		}
	}
}
