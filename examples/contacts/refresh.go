package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Refresher tells modhost that users' rosters changed, by POSTing a JSON
// array of usernames to its refresh URL (plugins/mod_http_roster_admin/README.md, "The refresh API": POST
// /roster_admin/refresh). modhost then fetches GET /contacts/{user} from us.
type Refresher struct {
	URL    string // "" disables refreshing
	Secret string // sent in Header when set
	// Header carries Secret: "Authorization" (the default) sends
	// "Bearer <secret>", any other header name the secret as it is.
	Header  string
	Client  *http.Client
	Timeout time.Duration
	Log     *slog.Logger
}

// RefreshResult is modhost's answer, as the admin API reports it.
type RefreshResult struct {
	Status int    `json:"status,omitempty"`
	Body   string `json:"body,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Refresh asks modhost to refresh users and logs its answer. It waits for
// the answer (bounded by Timeout) so the admin API can report it.
func (r *Refresher) Refresh(ctx context.Context, users ...string) *RefreshResult {
	if r.URL == "" || len(users) == 0 {
		return nil
	}
	res := r.post(ctx, users)
	if res.Error != "" {
		r.Log.Warn("roster refresh failed", "users", users, "url", r.URL, "error", res.Error)
	} else {
		r.Log.Info("roster refresh answered", "users", users, "status", res.Status, "body", res.Body)
	}
	return res
}

func (r *Refresher) post(ctx context.Context, users []string) *RefreshResult {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(users)
	if err != nil {
		return &RefreshResult{Error: fmt.Sprintf("encode users: %v", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return &RefreshResult{Error: fmt.Sprintf("build refresh request: %v", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Secret != "" {
		name := r.Header
		if name == "" {
			name = "Authorization"
		}
		value := r.Secret
		if strings.EqualFold(name, "Authorization") {
			value = "Bearer " + r.Secret
		}
		req.Header.Set(name, value)
	}
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return &RefreshResult{Error: err.Error()}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return &RefreshResult{Status: resp.StatusCode, Error: fmt.Sprintf("read answer: %v", err)}
	}
	res := &RefreshResult{Status: resp.StatusCode, Body: strings.TrimSpace(string(answer))}
	if resp.StatusCode != http.StatusOK {
		res.Error = "refresh answered " + resp.Status
	}
	return res
}
