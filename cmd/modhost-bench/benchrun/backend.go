package benchrun

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// contactsBackend stands in for the web application that owns the rosters:
// GET /contacts/{user} answers a JSON object of Contacts contacts. Every
// fetch of a user changes exactly one contact's name compared with that
// user's previous fetch, so every refresh has one change to apply and push.
type contactsBackend struct {
	domain   string
	contacts int

	mu      sync.Mutex
	fetches map[string]int

	served, failed atomic.Int64
}

func newContactsBackend(domain string, contacts int) *contactsBackend {
	return &contactsBackend{domain: domain, contacts: contacts, fetches: map[string]int{}}
}

func (b *contactsBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, ok := strings.CutPrefix(r.URL.Path, "/contacts/")
	if !ok || user == "" || r.Method != http.MethodGet {
		b.failed.Add(1)
		http.NotFound(w, r)
		return
	}
	b.mu.Lock()
	b.fetches[user]++
	n := b.fetches[user]
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(b.roster(n)); err == nil {
		b.served.Add(1)
	}
}

// roster is the answer to a user's nth fetch (n ≥ 1). Contact k carries the
// number of the latest fetch m ≤ n with m ≡ k (mod contacts): fetch n changes
// contact n mod contacts and nothing else.
func (b *contactsBackend) roster(n int) []byte {
	var s strings.Builder
	s.Grow(b.contacts * 80)
	s.WriteByte('{')
	for k := range b.contacts {
		if k > 0 {
			s.WriteByte(',')
		}
		name := fmt.Sprintf("Contact %d", k)
		if m := n - ((n-k)%b.contacts+b.contacts)%b.contacts; m >= 1 {
			name += fmt.Sprintf(" v%d", m)
		}
		fmt.Fprintf(&s, `"%s@%s":{"name":%q,"groups":["Bench"]}`, contactNode(k), b.domain, name)
	}
	s.WriteByte('}')
	return []byte(s.String())
}

// contactNode names contact k. Contacts are accounts nobody logs in to:
// presence to them costs the server what presence to offline contacts
// costs, the same in every setup measured.
func contactNode(k int) string { return fmt.Sprintf("contact%03d", k) }
