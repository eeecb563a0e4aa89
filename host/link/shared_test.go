package link_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modhost/modhost/host/xmpp/ejabberdapi"
	"github.com/modhost/modhost/internal/testkit"
)

// failingAPI is a proxy in front of ejabberd's API that answers 500 to the
// next add_rosteritem calls it is told to fail, and says when it has.
type failingAPI struct {
	fail   atomic.Int32
	failed chan struct{}
}

func newFailingAPI() *failingAPI {
	return &failingAPI{failed: make(chan struct{}, 16)}
}

func (f *failingAPI) url(t *testing.T, real string) string {
	target, err := url.Parse(real)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/add_rosteritem") && f.fail.Add(-1) >= 0 {
			http.Error(w, "injected failure", http.StatusInternalServerError)
			f.failed <- struct{}{}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL // the proxy adds target.Path
}

// With shared = true another instance may refresh a user after this one's
// write failed; the retry must not write this instance's older roster over
// that refresh. It fetches the roster again from the web app
// (roster-admin/refresh) and compares that with ejabberd's.
func TestSharedInstanceRefetchesARosterWhoseWriteFailedInsteadOfWritingItsOwn(t *testing.T) {
	api := newFailingAPI()
	e := newEjabberdEnvWith(t, []string{"sh1", "bo", "cy"}, ejabberdSetup{
		api:         "shared = true; sessions_interval = 0.5",
		apiURL:      func(real string) string { return api.url(t, real) },
		resyncDelay: 2,
	})
	e.logs.expect(`a roster write did not reach the server's roster`)
	e.backend.Set("sh1", `{"bo@example.com":{"name":"Bo","groups":{"Friends":true}}}`)
	c := e.online(t, "sh1", "laptop")
	r1 := line("bo@example.com", "Bo", "both", "Friends")
	e.waitServerRoster(t, "sh1", r1)
	e.waitClientRoster(t, c, r1)

	// Round 2 reaches this instance; its write fails.
	api.fail.Store(1)
	e.backend.Set("sh1", `{"bo@example.com":{"name":"Bo 2","groups":{"Friends":true}}}`)
	if got := e.refresh(t, `["sh1"]`); !strings.Contains(got, `"updated":1`) {
		t.Fatalf("refresh answered %s", got)
	}
	select {
	case <-api.failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh wrote nothing to ejabberd")
	}
	fetched := len(e.backend.Hits("/contacts/sh1"))
	// Round 3 reaches another instance before this one retries: the web
	// app holds cy only, and that instance has written it.
	e.backend.Set("sh1", `{"cy@example.com":{"name":"Cy","groups":{"Work":true}}}`)
	other, err := ejabberdapi.New(ejabberdapi.Config{URL: strings.TrimSuffix(e.ej.APIURL(""), "/")})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.AddRosterItem(e.ctx, "sh1", linkDomain, ejabberdapi.Item{JID: "cy@example.com", Name: "Cy", Subscription: "both", Groups: []string{"Work"}}); err != nil {
		t.Fatal(err)
	}
	if err := other.AddRosterItem(e.ctx, "sh1", linkDomain, ejabberdapi.Item{JID: "bo@example.com", Subscription: "none"}); err != nil {
		t.Fatal(err)
	}
	if err := other.DeleteRosterItem(e.ctx, "sh1", linkDomain, "bo@example.com"); err != nil {
		t.Fatal(err)
	}
	r3 := line("cy@example.com", "Cy", "both", "Work")
	e.waitServerRoster(t, "sh1", r3)

	// This instance's retry fetches the roster again, and leaves round 3.
	testkit.Eventually(t, 10*time.Second, func() (bool, string) {
		n := len(e.backend.Hits("/contacts/sh1"))
		return n > fetched, "the web app was not asked for sh1's roster again after the failed write; ejabberd's roster of sh1 is now:\n" + e.serverRoster(t, "sh1")
	})
	e.waitClientRoster(t, c, r3)
	time.Sleep(time.Second) // any write the retry queued has landed by now
	if got := e.serverRoster(t, "sh1"); got != r3 {
		t.Fatalf("ejabberd's roster of sh1 after the retry:\n%s\nwant (the other instance's refresh):\n%s", got, r3)
	}
}
