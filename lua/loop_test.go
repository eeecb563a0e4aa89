package lua

import (
	"context"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"
)

func TestObserveWaitReportsHowLongEachJobQueued(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	l := NewLoop(Options{ObserveWait: func(d time.Duration) {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
	}})
	defer l.Close(nil)

	// The first job holds the loop; the second waits behind it.
	release := make(chan struct{})
	started := make(chan struct{})
	l.Post(func(*glua.LState) { close(started); <-release })
	<-started
	done := make(chan struct{})
	l.Post(func(*glua.LState) { close(done) })
	if d := l.QueueDepth(); d != 1 {
		t.Errorf("QueueDepth with one job waiting = %d, want 1", d)
	}
	const held = 30 * time.Millisecond
	time.Sleep(held)
	close(release)
	<-done
	if err := l.Do(context.Background(), func(*glua.LState) error { return nil }); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 3 {
		t.Fatalf("observed %d waits, want one per job (3): %v", len(waits), waits)
	}
	if waits[1] < held {
		t.Errorf("job queued behind a %v job waited %v", held, waits[1])
	}
	if got := l.JobsRun(); got != 3 {
		t.Errorf("JobsRun = %d, want 3", got)
	}
}
