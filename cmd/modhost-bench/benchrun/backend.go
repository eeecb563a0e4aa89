package benchrun

import (
	"net/http"
	"strconv"
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
// contact n mod contacts and nothing else. It is built by hand: with fmt it
// cost the machine ~0.1 ms a fetch, CPU the setups measured shared with
// it (BenchmarkBackendRoster).
func (b *contactsBackend) roster(n int) []byte {
	out := make([]byte, 0, b.contacts*(len(b.domain)+64)+2)
	out = append(out, '{')
	for k := range b.contacts {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = appendContactNode(out, k)
		out = append(out, '@')
		out = append(out, b.domain...)
		out = append(out, `":{"name":"Contact `...)
		out = strconv.AppendInt(out, int64(k), 10)
		if m := n - ((n-k)%b.contacts+b.contacts)%b.contacts; m >= 1 {
			out = append(out, " v"...)
			out = strconv.AppendInt(out, int64(m), 10)
		}
		out = append(out, `","groups":["Bench"]}`...)
	}
	return append(out, '}')
}

// contactNode names contact k. Contacts are accounts nobody logs in to:
// presence to them costs the server what presence to offline contacts
// costs, the same in every setup measured.
func contactNode(k int) string { return string(appendContactNode(nil, k)) }

// appendContactNode appends contactNode(k): "contact" and k in three
// digits at least.
func appendContactNode(out []byte, k int) []byte {
	out = append(out, "contact"...)
	for d := 100; d > 1 && k < d; d /= 10 {
		out = append(out, '0')
	}
	return strconv.AppendInt(out, int64(k), 10)
}
