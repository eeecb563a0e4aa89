package link

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/internal/testkit"
)

// pipeWriter is a pipelinedWriter that answers nothing until told: it
// records the sets in the order they were sent and how many await answers.
type pipeWriter struct {
	fakeWriter
	mu      sync.Mutex
	sent    []string
	waiting []chan struct{}
	most    int
	answers int
	// answersAtSend is how many sets had been answered when each was sent.
	answersAtSend []int
}

func (w *pipeWriter) startWrite(_ context.Context, user string, it component.RosterItem) func() error {
	answer := make(chan struct{})
	w.mu.Lock()
	w.sent = append(w.sent, user+" "+it.JID)
	w.answersAtSend = append(w.answersAtSend, w.answers)
	w.waiting = append(w.waiting, answer)
	w.most = max(w.most, len(w.waiting))
	w.mu.Unlock()
	return func() error { <-answer; return nil }
}

// answer answers the oldest set still awaiting one; false if none is.
func (w *pipeWriter) answer() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waiting) == 0 {
		return false
	}
	close(w.waiting[0])
	w.waiting = w.waiting[1:]
	w.answers++
	return true
}

func (w *pipeWriter) state() (sent []string, waiting, most int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sent), len(w.waiting), w.most
}

// Pipelined sets go out in queue order without waiting for the answers to
// the ones before, up to writesInFlight at once; a second set of a contact
// waits until the first is answered, and a barrier until all are.
func TestPipelinedWritesKeepOrderOneAContactAndBarriers(t *testing.T) {
	w := &pipeWriter{}
	b := newTestBridge(w)
	b.refusals = &refusalLog{last: map[string]refusal{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var login []component.RosterItem
	for k := range writesInFlight + 8 {
		login = append(login, item(fmt.Sprintf("c%02d@x", k), "", "both"))
	}
	b.writeDifferences("u", local(login...), serverRoster{}, true, nil)
	// A rename of the last contact, queued with them (its first set will
	// be in flight when the rename's turn comes), and a barrier behind it.
	lastJID := login[len(login)-1].JID
	b.writeDifferences("u", local(item(lastJID, "Renamed", "both")), b.serverRoster["u"], true, []string{lastJID})
	barrier := make(chan struct{})
	b.writes.after(time.Minute, func() { close(barrier) })
	done := make(chan struct{})
	go func() { defer close(done); b.writeRosters(ctx) }()
	testkit.Eventually(t, 5*time.Second, func() (bool, string) {
		sent, waiting, _ := w.state()
		return len(sent) == writesInFlight && waiting == writesInFlight, fmt.Sprintf("%d sent, %d awaiting answers", len(sent), waiting)
	})

	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-barrier:
			w.mu.Lock()
			sent, waiting, most, answers, atSend := slices.Clone(w.sent), len(w.waiting), w.most, w.answers, slices.Clone(w.answersAtSend)
			w.mu.Unlock()
			if waiting != 0 {
				t.Fatalf("the barrier ran with %d sets awaiting answers", waiting)
			}
			want := []string{}
			for _, it := range login {
				want = append(want, "u "+it.JID)
			}
			want = append(want, "u "+lastJID)
			if !slices.Equal(sent, want) {
				t.Fatalf("sent in the order\n%q\nwant\n%q", sent, want)
			}
			if most != writesInFlight {
				t.Fatalf("%d sets awaited answers at once, want %d", most, writesInFlight)
			}
			if answers != len(want) {
				t.Fatalf("the barrier ran after %d answers, want %d", answers, len(want))
			}
			if atSend[len(atSend)-1] < len(login) {
				t.Fatalf("the rename of %s went out after %d answers, while its first set awaited one", lastJID, atSend[len(atSend)-1])
			}
			if !b.writes.answeredUpTo(b.writes.queued()) {
				t.Fatal("every set answered, yet the queue says not")
			}
			cancel()
			<-done
			return
		case <-deadline:
			t.Fatal("the barrier never ran")
		default:
		}
		if !w.answer() {
			time.Sleep(time.Millisecond)
		}
	}
}
