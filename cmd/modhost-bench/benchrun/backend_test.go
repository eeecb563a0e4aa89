package benchrun

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

type contactEntry struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
}

func fetchRoster(t *testing.T, b *contactsBackend, user string) map[string]contactEntry {
	t.Helper()
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest("GET", "/contacts/"+user, nil))
	var roster map[string]contactEntry
	if err := json.Unmarshal(rec.Body.Bytes(), &roster); err != nil {
		t.Fatalf("fetch %d: %v: %s", rec.Code, err, rec.Body)
	}
	return roster
}

func TestBackendChangesExactlyOneContactPerFetchOfAUser(t *testing.T) {
	for _, contacts := range []int{1, 3, 100} {
		b := newContactsBackend("example.com", contacts)
		prev := fetchRoster(t, b, "alice")
		if len(prev) != contacts {
			t.Fatalf("%d contacts: first fetch has %d", contacts, len(prev))
		}
		for fetch := 2; fetch <= 2*contacts+3; fetch++ {
			next := fetchRoster(t, b, "alice")
			changed := 0
			for jid, entry := range next {
				old, ok := prev[jid]
				if !ok {
					t.Fatalf("%d contacts, fetch %d: new contact %s", contacts, fetch, jid)
				}
				if old.Name != entry.Name {
					changed++
				}
			}
			if len(next) != contacts || changed != 1 {
				t.Fatalf("%d contacts, fetch %d: %d contacts, %d changed; want %d and 1", contacts, fetch, len(next), changed, contacts)
			}
			prev = next
		}
	}
	// Users have counts of their own: bob's first fetch is a first fetch.
	b := newContactsBackend("example.com", 2)
	fetchRoster(t, b, "alice")
	fetchRoster(t, b, "alice")
	bob, first := fetchRoster(t, b, "bob"), fetchRoster(t, newContactsBackend("example.com", 2), "bob")
	for jid, entry := range first {
		if bob[jid].Name != entry.Name {
			t.Errorf("bob's %s is %q after alice's fetches, want %q", jid, bob[jid].Name, entry.Name)
		}
	}
}

func TestBackendRefusesOtherPathsAndCountsThem(t *testing.T) {
	b := newContactsBackend("example.com", 2)
	for _, path := range []string{"/", "/contacts/", "/other/alice"} {
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 404 {
			t.Errorf("GET %s → %d", path, rec.Code)
		}
	}
	if n := b.failed.Load(); n != 3 {
		t.Errorf("failed = %d, want 3", n)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // unsorted on purpose
	}
	cases := []struct {
		samples []float64
		p, want float64
	}{
		{[]float64{5}, 50, 5},
		{[]float64{5}, 99, 5},
		{[]float64{3, 1, 2}, 50, 2},
		{[]float64{3, 1, 2}, 99, 3},
		{hundred, 50, 50},
		{hundred, 99, 99},
		{hundred, 100, 100},
		{hundred, 0, 1},
	}
	for _, tc := range cases {
		if got := percentile(tc.samples, tc.p); got != tc.want {
			t.Errorf("p%v of %d samples = %v, want %v", tc.p, len(tc.samples), got, tc.want)
		}
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of no samples is not NaN")
	}
}

// A soak of 100 rounds or more reads memory at every tenth of them and
// prints the readings beside the first and last; shorter runs do not pay
// for them.
func TestSoakReadsMemoryAtEveryTenthOfItsRounds(t *testing.T) {
	var at []int
	for n := 1; n <= 250; n++ {
		if soakReadingAfter(n, 250) {
			at = append(at, n)
		}
	}
	if want := []int{25, 50, 75, 100, 125, 150, 175, 200, 225}; !slices.Equal(at, want) {
		t.Errorf("readings after rounds %v, want %v", at, want)
	}
	for n := 1; n <= 99; n++ {
		if soakReadingAfter(n, 99) {
			t.Errorf("a 99-round run reads memory after round %d", n)
		}
	}
	r := Report{Options: Defaults(), Setups: []SetupResult{{Setup: "B", Name: "modhost standalone",
		RSSBeforeKiB: 1024, RSSOnlineKiB: 2048, RSSAfterFirstRoundKiB: 3072, RSSAfterRoundsKiB: 4096,
		RSSDuringRounds: []RoundRSS{{10, 3584}, {20, 4096}}}}}
	r.Options.Rounds = 30
	var out strings.Builder
	r.Print(&out)
	if want := "on the way (MiB after round): 10: 3.5, 20: 4.0, 30: 4.0"; !strings.Contains(out.String(), want) {
		t.Errorf("report without %q:\n%s", want, out.String())
	}
}

// referenceRoster is the answer as roster wrote it with fmt, kept to pin
// the hand-built one to it byte for byte.
func referenceRoster(domain string, contacts, n int) string {
	var s strings.Builder
	s.WriteByte('{')
	for k := range contacts {
		if k > 0 {
			s.WriteByte(',')
		}
		name := fmt.Sprintf("Contact %d", k)
		if m := n - ((n-k)%contacts+contacts)%contacts; m >= 1 {
			name += fmt.Sprintf(" v%d", m)
		}
		fmt.Fprintf(&s, `"%s@%s":{"name":%q,"groups":["Bench"]}`, fmt.Sprintf("contact%03d", k), domain, name)
	}
	s.WriteByte('}')
	return s.String()
}

func TestBackendAnswersAsTheFmtBuiltOneDid(t *testing.T) {
	for _, contacts := range []int{1, 3, 100, 1234} {
		b := newContactsBackend("example.com", contacts)
		for _, n := range []int{1, 2, contacts - 1, contacts, contacts + 1, 2*contacts + 3, 10007} {
			if n < 1 {
				continue
			}
			if got, want := string(b.roster(n)), referenceRoster("example.com", contacts, n); got != want {
				t.Fatalf("%d contacts, fetch %d:\n%s\nwant\n%s", contacts, n, got, want)
			}
		}
	}
	for _, k := range []int{0, 7, 42, 999, 1000, 12345} {
		if got, want := contactNode(k), fmt.Sprintf("contact%03d", k); got != want {
			t.Errorf("contactNode(%d) = %q, want %q", k, got, want)
		}
	}
}

// What the stand-in web app spends building one answer of 100 contacts.
func BenchmarkBackendRoster(b *testing.B) {
	backend := newContactsBackend("example.com", 100)
	b.ReportAllocs()
	for i := range b.N {
		_ = backend.roster(i + 1)
	}
}

func BenchmarkBackendRosterWithFmt(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		_ = referenceRoster("example.com", 100, i+1)
	}
}

// What the limit line's decode (fetchAndDecode: encoding/json into names
// and groups) costs for one answer: with 1,000 contacts B refreshed faster
// than the line, so its decode is dearer than modhost's own reader's.
func BenchmarkLimitDecode(b *testing.B) {
	for _, contacts := range []int{100, 1000} {
		body := newContactsBackend("example.com", contacts).roster(1)
		b.Run(fmt.Sprintf("contacts=%d", contacts), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for range b.N {
				var roster map[string]struct {
					Name   string   `json:"name"`
					Groups []string `json:"groups"`
				}
				if err := json.Unmarshal(body, &roster); err != nil || len(roster) != contacts {
					b.Fatal(err)
				}
			}
		})
	}
}
