package ejabberdtest_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/ejabberdtest"
	"github.com/modhost/modhost/internal/testproc"
	"github.com/modhost/modhost/internal/xmpptest"
)

// The smoke test: a real ejabberd starts on its own ports, accounts exist, a
// client logs in and gets its roster, the component port accepts, and Stop
// ends the node and frees the ports, all within bounded time.
func TestStartRegisterLoginRosterStop(t *testing.T) {
	s := ejabberdtest.Start(t, ejabberdtest.Options{
		Users:      map[string]string{"alice": "pw-a", "bob": "pw-b"},
		Components: map[string]string{"roster.example.com": "s"},
	})
	t.Logf("ejabberd started in %v", s.StartedIn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	code, body, err := s.API(ctx, "registered_users", map[string]string{"host": s.Host})
	if err != nil || code != http.StatusOK || !strings.Contains(string(body), `"alice"`) || !strings.Contains(string(body), `"bob"`) {
		t.Fatalf("registered_users = %d %s (%v)", code, body, err)
	}
	alice, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: s.Host, Username: "alice", Password: "pw-a"})
	if err != nil {
		t.Fatalf("alice logs in: %v", err)
	}
	defer alice.Close()
	if !strings.HasPrefix(alice.JID(), "alice@example.com/") {
		t.Errorf("bound JID %q", alice.JID())
	}
	items, err := alice.Roster(ctx)
	if err != nil || len(items) != 0 {
		t.Fatalf("a new account's roster = %v, %v; want empty", items, err)
	}
	if _, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: s.Host, Username: "bob", Password: "wrong"}); err == nil {
		t.Errorf("bob logged in with a wrong password")
	}
	testproc.AssertLoopbackOnly(t, s.C2SPort, s.ComponentPort, s.HTTPPort, s.DistPort)
	if out, err := s.Ctl("status"); err != nil || !strings.Contains(out, "is running") {
		t.Errorf("ejabberdctl status = %q, %v", out, err)
	}

	pid := s.Pid()
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("ejabberd stopped in %v", s.StoppedIn)
	if testproc.Alive(pid) {
		t.Errorf("ejabberd %d alive after Stop", pid)
	}
	if _, err := net.DialTimeout("tcp", s.C2SAddr(), time.Second); err == nil {
		t.Errorf("c2s port still accepts after Stop")
	}
}
