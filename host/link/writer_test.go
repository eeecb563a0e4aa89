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

// write is a set sent on its own: it waits for its answer as the others.
func (w *pipeWriter) write(ctx context.Context, user string, it component.RosterItem) error {
	return w.startWrite(ctx, user, it)()
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
// waits until the first is answered, and a wait for the last one runs
// when all are.
func TestPipelinedWritesKeepOrderOneAContactAndWaitsForAnswers(t *testing.T) {
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
	// be in flight when the rename's turn comes), and a wait for them all.
	lastJID := login[len(login)-1].JID
	b.writeDifferences("u", local(item(lastJID, "Renamed", "both")), b.serverRoster["u"], true, []string{lastJID})
	allAnswered := make(chan struct{})
	b.writes.whenAnswered(b.writes.queued(), time.Minute, func() { close(allAnswered) })
	done := make(chan struct{})
	go func() { defer close(done); b.writeRosters(ctx) }()
	testkit.Eventually(t, 5*time.Second, func() (bool, string) {
		sent, waiting, _ := w.state()
		return len(sent) == writesInFlight && waiting == writesInFlight, fmt.Sprintf("%d sent, %d awaiting answers", len(sent), waiting)
	})

	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-allAnswered:
			w.mu.Lock()
			sent, waiting, most, answers, atSend := slices.Clone(w.sent), len(w.waiting), w.most, w.answers, slices.Clone(w.answersAtSend)
			w.mu.Unlock()
			if waiting != 0 {
				t.Fatalf("the wait for every set ran with %d sets awaiting answers", waiting)
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
				t.Fatalf("the wait for every set ran after %d answers, want %d", answers, len(want))
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
			t.Fatal("the wait for every set never ran")
		default:
		}
		if !w.answer() {
			time.Sleep(time.Millisecond)
		}
	}
}

// A delegated roster result waits for the sets of the contacts its
// client's initial presence can reach: users of the host online, and
// anyone elsewhere, and every set that may take away what a contact sees.
// Sets of the host's users who are offline go after them, unwaited for
// and one at a time, so a first login with a hundred
// offline contacts is answered without waiting for the server to store
// them, and the server is not sent a burst of them.
func TestResultWaitsOnlyForContactsPresenceReaches(t *testing.T) {
	w := &pipeWriter{}
	b := newTestBridge(w)
	b.host, b.resources = "example.com", map[string]int{}
	b.refusals = &refusalLog{last: map[string]refusal{}}
	b.sessions = map[string]*linkedSession{}
	b.addSession("bob@example.com/desk", "bob", &linkedSession{})
	b.addSession("bob@example.com/phone", "bob", &linkedSession{})
	b.addSession("carol@example.com/desk", "carol", &linkedSession{})
	b.dropSession("carol@example.com/desk", "carol") // carol logged out
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	login := []component.RosterItem{item("bob@example.com", "Bob", "both"), item("carol@example.com", "", "both"),
		item("dave@elsewhere.org", "", "both"), item("Erin@example.com", "", "both"), item("frank@example.com", "", "to")}
	var offline []string
	for k := range 20 {
		jid := fmt.Sprintf("a%02d@example.com", k)
		offline = append(offline, "alice "+jid)
		login = append(login, item(jid, "", "both"))
	}
	// gina, offline, is gone from the web app's roster: her removal is
	// waited for too.
	held := packServerRoster([]component.RosterItem{item("gina@example.com", "", "both")})
	b.writeDifferences("alice", local(login...), held, true, nil)
	if !b.writesPending("alice") {
		t.Fatal("no set is waited for")
	}
	answered := make(chan struct{})
	b.writes.whenAnswered(b.lastWrite["alice"], time.Minute, func() { close(answered) })
	go b.writeRosters(ctx)
	// bob is online; dave may be (another server); Erin's JID is not as the
	// server spells its users, so she may be one of them; frank, offline,
	// is written without the from subscription the server may still hold
	// (were it left for later, he could see alice's presence meanwhile).
	first := []string{"alice Erin@example.com", "alice bob@example.com", "alice dave@elsewhere.org", "alice frank@example.com",
		"alice gina@example.com"}
	testkit.Eventually(t, 5*time.Second, func() (bool, string) {
		sent, waiting, _ := w.state()
		return len(sent) == len(first) && waiting == len(first), fmt.Sprintf("sent %q, %d awaiting answers", sent, waiting)
	})
	if sent, _, _ := w.state(); !slices.Equal(sent, first) {
		t.Fatalf("sent first %q, want %q", sent, first)
	}
	for range len(first) - 1 {
		w.answer()
	}
	select {
	case <-answered:
		t.Fatal("the result was released before the sets it waits for were answered")
	case <-time.After(50 * time.Millisecond):
	}
	w.answer()
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("the result still waits once bob's, dave's, Erin's, frank's and gina's sets are answered")
	}
	if b.writesPending("alice") {
		t.Error("writesPending says alice's answer still waits")
	}
	// The others, one at a time, in order.
	deadline := time.Now().Add(5 * time.Second)
	for {
		sent, waiting, _ := w.state()
		if waiting > 1 {
			t.Fatalf("%d sets of offline users await answers at once: %q", waiting, sent)
		}
		if len(sent) == len(login)+1 && waiting == 0 {
			if want := append(append(first, offline...), "alice carol@example.com"); !slices.Equal(sent, want) {
				t.Fatalf("sets went in the order\n%q\nwant\n%q", sent, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sets sent, %d awaiting answers", len(sent), len(login)+1, waiting)
		}
		if !w.answer() {
			time.Sleep(time.Millisecond)
		}
	}
}

// A wait for sets already answered runs at once; one for sets that are
// never answered runs after its bound and is forgotten (it held a roster
// result of a hundred items).
func TestWhenAnsweredRunsOnceAnsweredOrAtItsBound(t *testing.T) {
	q := newWriteQueue()
	q.push("u", string(appendWrite(nil, item("a@x", "", "both"))), 1, false)
	q.answered.Add(1)
	done := make(chan struct{})
	q.whenAnswered(1, time.Minute, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a wait for an answered set did not run")
	}
	ran := make(chan struct{}, 2)
	q.whenAnswered(2, 20*time.Millisecond, func() { ran <- struct{}{} })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("a wait for a set never answered did not run at its bound")
	}
	q.mu.Lock()
	left := len(q.waiters)
	q.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d waits kept after running", left)
	}
	q.answered.Add(1)
	q.release()
	select {
	case <-ran:
		t.Fatal("a wait ran twice")
	case <-time.After(50 * time.Millisecond):
	}
}
