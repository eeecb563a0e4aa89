package benchrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
	CloseIdleConnections()
}

type refreshReply struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Updated int    `json:"updated"`
	Errors  int    `json:"errors"`
}

// refresh POSTs one refresh request naming users and checks the answer
// says every one was updated; it returns what went wrong.
func refresh(ctx context.Context, client httpDoer, url string, users []string) []string {
	body, err := json.Marshal(users)
	if err != nil {
		return []string{fmt.Sprintf("encode users: %v", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return []string{fmt.Sprintf("refresh request: %v", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return []string{fmt.Sprintf("refresh of %d users: %v", len(users), err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return []string{fmt.Sprintf("refresh of %d users: read answer: %v", len(users), err)}
	}
	var reply refreshReply
	if err := json.Unmarshal(raw, &reply); err != nil || resp.StatusCode != http.StatusOK {
		return []string{fmt.Sprintf("refresh of %d users: %d %s", len(users), resp.StatusCode, raw)}
	}
	if reply.Status != "ok" || reply.Errors != 0 || reply.Updated != len(users) {
		return []string{fmt.Sprintf("refresh of %d users answered %s", len(users), raw)}
	}
	return nil
}

type burstResult struct {
	p99      float64
	wall     time.Duration
	failures []string
}

// concurrentRefreshes sends n refresh requests at once, request i naming
// per users of the online ones starting at i·per, and measures each.
func concurrentRefreshes(ctx context.Context, client httpDoer, url string, online []string, n, per int) burstResult {
	millis := make([]float64, n)
	failures := make([][]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		users := make([]string, 0, per)
		for j := range min(per, len(online)) {
			users = append(users, online[(i*per+j)%len(online)])
		}
		wg.Go(func() {
			<-start
			t := time.Now()
			failures[i] = refresh(ctx, client, url, users)
			millis[i] = float64(time.Since(t).Microseconds()) / 1000
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	res := burstResult{p99: percentile(millis, 99), wall: time.Since(began)}
	for i, f := range failures {
		for _, msg := range f {
			res.failures = append(res.failures, fmt.Sprintf("concurrent request %d: %s", i+1, msg))
		}
	}
	return res
}
