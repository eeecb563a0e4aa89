package link

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

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
// user for the server's roster (bridge.serverRoster): b.N users with the
// bench's 100-contact roster as read at login (storeServerRoster), then
// after one refresh changing one contact each (mirrorItems), as setup C
// of cmd/modhost-bench does.
func BenchmarkServerRosterHeap(b *testing.B) {
	const contacts = 100
	br := newTestBridge(fakeWriter{})
	users := make([]string, b.N)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
	}
	before := heapNow()
	for _, user := range users {
		br.serverRoster[user] = packServerRoster(parsedItems(contacts, 0))
	}
	loggedIn := heapNow()
	for _, user := range users {
		br.mirrorItems(user, parsedItems(1, 1), nil)
	}
	br.writes.take()
	refreshed := heapNow()
	b.ReportMetric((float64(loggedIn)-float64(before))/float64(b.N)/1024, "login-KiB/user")
	b.ReportMetric((float64(refreshed)-float64(before))/float64(b.N)/1024, "refreshed-KiB/user")
	runtime.KeepAlive(br)
}

// BenchmarkServerRosterRefresh is the link's part of one refresh changing
// one contact of a user's 100-contact roster (mirrorItems: the diff
// against the server's roster, the write queued, the result kept).
func BenchmarkServerRosterRefresh(b *testing.B) {
	const users = 100
	br := newTestBridge(fakeWriter{})
	for u := range users {
		br.serverRoster[fmt.Sprint(u)] = packServerRoster(parsedItems(100, 0))
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
		br.mirrorItems(fmt.Sprint(i%users), c, nil)
		if i%1000 == 0 {
			br.writes.take()
		}
	}
}
