package component

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the stream decoder as the body of a
// component stream. Whatever it accepts must write back (Marshal) and decode
// to the same Element; nothing may panic or hang. The seed corpus is in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`<message to='a@b'><body>hi &amp; bye</body></message>`))
	f.Add([]byte(delegatedGet))
	f.Fuzz(func(t *testing.T, body []byte) {
		d := newDecoder(strings.NewReader(testHeader+string(body)), 4096)
		if _, err := d.streamHeader(); err != nil {
			t.Fatalf("header: %v", err)
		}
		for i := 0; i < 64; i++ {
			e, err := d.next()
			if err != nil {
				if errors.Is(err, errStreamEnd) {
					return
				}
				return
			}
			b, err := Marshal(e)
			if err != nil {
				t.Fatalf("decoded element does not marshal: %v\n%#v", err, e)
			}
			again := newDecoder(strings.NewReader(testHeader+string(b)), 1<<20)
			if _, err := again.streamHeader(); err != nil {
				t.Fatal(err)
			}
			e2, err := again.next()
			if err != nil {
				t.Fatalf("re-decode %s: %v", b, err)
			}
			// Marshal writes a stanza in jabber:client or the component
			// namespace without xmlns (it takes the stream's): the same
			// stanza, decoded back with the namespace left implicit.
			if e.NS == NSClient || e.NS == NSComponent {
				e.NS = ""
			}
			if !reflect.DeepEqual(e, e2) {
				t.Fatalf("round trip changed the element:\n%#v\n%#v\nvia %s", e, e2, b)
			}
		}
	})
}
