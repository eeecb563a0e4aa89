package benchrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// limitConcurrency is how many fetches the limit line keeps out at once:
// the plugin's own bound (http_roster_admin_max_concurrent's default).
const limitConcurrency = 16

// measureLimit is the machine's limit line: the refresh rounds' fetches
// (Rounds × Users, limitConcurrency at a time) from the same stand-in web
// app, each answer read and decoded as JSON (encoding/json), nothing
// applied, stored or pushed; with decode false, read and not decoded
// (the fetches alone). B and C are reported against both. Its users are
// its own, so the setups' rosters are not disturbed.
//
// encoding/json is not the cheapest decode: for 100 contacts it takes
// 85-104 µs, modhost's own reader 28-33 (BenchmarkLimitDecode,
// BenchmarkRosterRead), and with 1,000 contacts B refreshed faster than
// the decoded line. The fetches alone bound every host.
func (e *runEnv) measureLimit(ctx context.Context, decode bool) (usersPerSec float64, failures []string) {
	users := userNames("limit", e.opts.Users)
	jobs := make(chan string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range limitConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for user := range jobs {
				if err := e.fetchAndDecode(ctx, user, decode); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	start := time.Now()
	for range e.opts.Rounds {
		for _, u := range users {
			select {
			case jobs <- u:
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	return float64(e.opts.Rounds*e.opts.Users) / time.Since(start).Seconds(), failures
}

// fetchAndDecode is one fetch of the limit line: GET as the plugin sends
// it, the answer decoded into what a roster needs (names and groups)
// when decode is true.
func (e *runEnv) fetchAndDecode(ctx context.Context, user string, decode bool) error {
	url := fmt.Sprintf(e.rosterURL, user)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("limit fetch of %s: %w", user, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("limit fetch of %s: %w", user, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("limit fetch of %s: %d %v", user, resp.StatusCode, err)
	}
	if !decode {
		if len(body) == 0 {
			return fmt.Errorf("limit fetch of %s: empty answer", user)
		}
		return nil
	}
	var roster map[string]struct {
		Name   string   `json:"name"`
		Groups []string `json:"groups"`
	}
	if err := json.Unmarshal(body, &roster); err != nil || len(roster) != e.opts.Contacts {
		return fmt.Errorf("limit fetch of %s: %d contacts decoded, want %d (%v)", user, len(roster), e.opts.Contacts, err)
	}
	return nil
}
