package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/internal/testkit"
	"github.com/modhost/modhost/lua"
)

// Fetch is net.http's request for Go callers: the same clients, limits and
// failure reasons, with its own bound told apart from the default one.
func TestFetchAnswersInNetHTTPsWords(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/big":
			fmt.Fprint(w, "0123456789abcdef0123456789abcdef!")
		default:
			fmt.Fprintf(w, "%s|%s|%s", r.Method, r.Header.Get("User-Agent"), r.Header.Get("Accept"))
		}
	}))
	defer srv.Close()
	l := testkit.NewLoop(t, compat.Libraries())
	setDefaults(t, l, compat.HTTPDefaults{Timeout: time.Second, MaxBody: 32, UserAgent: "probe"})
	fetch := func(url string, timeout time.Duration) (compat.Answer, bool) {
		t.Helper()
		answers := make(chan compat.Answer, 2)
		var sent bool
		err := l.Do(context.Background(), func(L *glua.LState) error {
			sent = compat.Fetch(L, url, http.Header{"accept": {"application/json"}}, timeout, func(a compat.Answer) { answers <- a })
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !sent {
			return compat.Answer{}, false
		}
		select {
		case a := <-answers:
			return a, true
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no answer", url)
		}
		return compat.Answer{}, false
	}
	cases := []struct {
		name, url string
		timeout   time.Duration
		want      compat.Answer
	}{
		{"an answer", srv.URL + "/x", 0, compat.Answer{Code: 200, Body: "GET|probe|application/json"}},
		{"its own bound", srv.URL + "/hang", 100 * time.Millisecond, compat.Answer{Body: "timeout", TimedOut: true}},
		{"the default bound, shorter", srv.URL + "/hang", 5 * time.Second, compat.Answer{Body: "timeout"}},
		{"a body over the limit", srv.URL + "/big", 0, compat.Answer{Body: "content-length-limit-exceeded"}},
		{"a refused connection", "http://" + testkit.ClosedAddr(t) + "/", 0, compat.Answer{Body: "connection refused"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, sent := fetch(c.url, c.timeout); !sent || got != c.want {
				t.Errorf("Fetch(%s) = %+v (sent %v), want %+v", c.url, got, sent, c.want)
			}
		})
	}
	if _, sent := fetch("ftp://example.com/", 0); sent {
		t.Error("an ftp URL was sent")
	}
}

// At debug, Fetch logs what net.http's request logs for the same request
// (an operator following a roster fetch sees it either way); above debug,
// nothing and no logger made.
func TestFetchLogsAsNetHTTPDoesAtDebug(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{}") }))
	defer srv.Close()
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var logs bytes.Buffer
		var mu sync.Mutex
		l := lua.NewLoop(lua.Options{Libraries: compat.Libraries(), Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: level}))})
		answers := make(chan compat.Answer, 1)
		err := l.Do(context.Background(), func(L *glua.LState) error {
			compat.Fetch(L, srv.URL+"/u?secret=x", nil, time.Second, func(a compat.Answer) { answers <- a })
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if a := <-answers; a.Code != 200 {
			t.Fatalf("answer %+v", a)
		}
		l.Close(nil)
		mu.Lock()
		got := logs.String()
		mu.Unlock()
		want := level == slog.LevelDebug
		if strings.Contains(got, "making request") != want || strings.Contains(got, "msg=response") != want || strings.Contains(got, "source=net.http") != want {
			t.Errorf("at %v, logs:\n%s", level, got)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
