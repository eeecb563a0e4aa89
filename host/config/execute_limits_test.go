package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// parseBounded runs a config with a running-time budget and fails the test if
// ParseContext has not returned within limit (an unbounded config would
// otherwise hang the test, or end it with "fatal error: out of memory").
func parseBounded(t *testing.T, src string, budget, limit time.Duration) (*Error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	type result struct {
		err error
		d   time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		_, err := ParseContext(ctx, []byte(src), "bounded.cfg.lua")
		done <- result{err, time.Since(start)}
	}()
	select {
	case r := <-done:
		var e *Error
		if !errors.As(r.err, &e) {
			t.Fatalf("%s\nerror = %v, want *config.Error", src, r.err)
		}
		return e, r.d
	case <-time.After(limit):
		t.Fatalf("%s\nstill running after %v", src, limit)
		return nil, 0
	}
}

// Patterns, gsub and concatenation run in Go, where the config's time bound
// was never checked: a backtracking pattern ran past a minute and a
// table.concat of 20,000 × 1 MiB ended the process ("fatal error: out of
// memory"). Each is now a *config.Error at its line, within the bound.
func TestGoSideStringWorkInAConfigIsBounded(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string
		budget          time.Duration
	}{
		// The patterns stop with the config's time bound (200 ms here); the
		// memory cases have 5 s and are refused long before.
		{"catastrophic find", "x = 1\ny = (\"a\"):rep(5000):find(\".-.-.-.-.-x\")", "2: config still running when stopped", 0},
		{"catastrophic gsub", "x = 1\ny = (\"a\"):rep(5000):gsub(\".-.-.-.-x\", \"\")", "2: config still running when stopped", 0},
		{"catastrophic gmatch", "for w in (\"a\"):rep(5000):gmatch(\".-.-.-.-x\") do end", "1: config still running when stopped", 0},
		{"table.concat of 20,000 × 1 MiB", "local s, t = (\"x\"):rep(2^20), {}\nfor i = 1, 20000 do t[i] = s end\nbig = table.concat(t)", "3: table.concat: result longer than", 5 * time.Second},
		{"doubling with ..", "local s = (\"x\"):rep(2^20)\nfor i = 1, 40 do\n\ts = s .. s\nend", "3: string concatenation (..): result longer than", 5 * time.Second},
		{"gsub blowing up", "local s = (\"x\"):rep(2^20)\ny = s:gsub(\"x\", s)", "2: string.gsub: result longer than", 5 * time.Second},
		{"many strings in all", "local t = {}\nfor i = 1, 1000 do t[i] = (\"x\"):rep(2^20 - i) end", "2: string.rep: more than 268435456 bytes of strings built in all", 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			budget := tt.budget
			if budget == 0 {
				budget = 200 * time.Millisecond
			}
			e, took := parseBounded(t, tt.src, budget, 10*time.Second)
			if !strings.Contains(e.Error(), "bounded.cfg.lua:"+tt.want) {
				t.Errorf("error = %q, want bounded.cfg.lua:%s", e.Error(), tt.want)
			}
			if took > 2*time.Second {
				t.Errorf("stopped after %v", took)
			}
		})
	}
}

// Ordinary string work in configs is unchanged by the bounds.
func TestConfigStringWorkWithinTheBounds(t *testing.T) {
	c := mustParse(t, `
local domain = "example.com"
admins = { "admin@" .. domain }
motd = ("line %d\n"):rep(3):gsub("%%d", "x")
parts = table.concat({ "a", "b", "c" }, "," .. " ")
VirtualHost ("chat." .. domain)
	port = tonumber(("port=5222"):match("%d+"))
`)
	g := c.Global.Options
	if got := g["admins"].([]any)[0]; got != "admin@example.com" {
		t.Errorf("admins = %v", got)
	}
	if g["motd"] != "line x\nline x\nline x\n" || g["parts"] != "a, b, c" {
		t.Errorf("motd = %q, parts = %q", g["motd"], g["parts"])
	}
	if h := c.Host("chat.example.com"); h == nil || h.Options["port"] != float64(5222) {
		t.Errorf("host = %+v", h)
	}
}
