package httpserver

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestObserveSeesRouteOwnerStatusAndDuration(t *testing.T) {
	type seen struct {
		owner  string
		status int
		took   time.Duration
	}
	var mu sync.Mutex
	var got []seen
	cfg := testConfig()
	cfg.HandlerDeadline = 50 * time.Millisecond
	cfg.Observe = func(owner string, status int, took time.Duration) {
		mu.Lock()
		got = append(got, seen{owner, status, took})
		mu.Unlock()
	}
	s := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := s.Mount("example.com", "/app", []Route{
		{Method: "GET", Path: "/ok", Handler: echo("ok")},
		{Method: "GET", Path: "/silent", Handler: func(http.ResponseWriter, *http.Request, string) {}},
		{Method: "POST", Path: "/made", Handler: func(w http.ResponseWriter, _ *http.Request, _ string) { w.WriteHeader(201) }},
		{Method: "GET", Path: "/slow", Handler: func(_ http.ResponseWriter, r *http.Request, _ string) { <-r.Context().Done() }},
	}, "example.com:app"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		want         seen
	}{
		{"GET", "/app/ok", seen{owner: "example.com:app", status: 200}},
		{"GET", "/app/silent", seen{owner: "example.com:app", status: 200}},
		{"POST", "/app/made", seen{owner: "example.com:app", status: 201}},
		{"GET", "/app/slow", seen{owner: "example.com:app", status: 504, took: cfg.HandlerDeadline}},
		{"PUT", "/app/ok", seen{owner: "", status: 405}},
		{"GET", "/elsewhere", seen{owner: "", status: 404}},
	}
	for _, tt := range tests {
		mu.Lock()
		got = nil
		mu.Unlock()
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
		mu.Lock()
		if len(got) != 1 || got[0].owner != tt.want.owner || got[0].status != tt.want.status || got[0].took < tt.want.took {
			t.Errorf("%s %s observed %+v, want one observation %+v", tt.method, tt.path, got, tt.want)
		}
		mu.Unlock()
	}
}
