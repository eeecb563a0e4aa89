package benchrun

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRefreshCountsEveryAnswerShortOfAFullUpdateAsAFailure(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		fails  bool
	}{
		{"every user updated", 200, `{"status":"ok","message":"roster update complete","updated":2,"errors":0}`, false},
		{"one fetch failed", 200, `{"status":"ok","message":"roster update complete","updated":1,"errors":1}`, true},
		{"every fetch failed", 200, `{"status":"error","message":"roster update failed for every user","updated":0,"errors":2}`, true},
		{"fewer users counted", 200, `{"status":"ok","message":"roster update complete","updated":1,"errors":0}`, true},
		{"deadline passed", 504, `{"status":"error","updated":2,"errors":0}`, true},
		{"refused for load", 429, `{"error":"too many concurrent requests from this client"}`, true},
		{"not JSON", 200, `<html>oops</html>`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if b, _ := io.ReadAll(r.Body); string(b) != `["alice","bob"]` || r.Method != http.MethodPost {
					t.Errorf("request %s %s", r.Method, b)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			failures := refresh(context.Background(), newHTTPClient(1, 5*time.Second), srv.URL, []string{"alice", "bob"})
			if got := len(failures) > 0; got != tc.fails {
				t.Errorf("failures %v, want failing = %v", failures, tc.fails)
			}
		})
	}
}

func TestRefreshReportsAnUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if failures := refresh(context.Background(), newHTTPClient(1, 5*time.Second), url, []string{"alice"}); len(failures) != 1 {
		t.Errorf("failures %v, want one", failures)
	}
}
