package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// SyncBuffer collects output written from several goroutines (the loop's,
// HTTP handlers'), as a log destination.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Eventually polls cond every 50 ms until it holds, and fails the test with
// cond's last description of the state if it does not within d.
func Eventually(t testing.TB, d time.Duration, cond func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v: %s", d, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SkipInShort skips a load, fault or soak test under -short (make unit, the
// fast loop); make test runs it.
func SkipInShort(t testing.TB, kind string) {
	t.Helper()
	if testing.Short() {
		t.Skip(kind + " test: not in the -short loop (make unit); make test runs it")
	}
}
