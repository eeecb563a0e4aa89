package compat_test

import (
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testkit"
)

func TestDatetime(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`dt.datetime(1234567890)`, "2009-02-13T23:31:30Z"},
		{`dt.date(1234567890)`, "2009-02-13"},
		{`dt.time(1234567890)`, "23:31:30"},
		{`dt.legacy(1234567890)`, "20090213T23:31:30"},
		{`dt.datetime(0)`, "1970-01-01T00:00:00Z"},
		{`dt.datetime(4102444799)`, "2099-12-31T23:59:59Z"},
		// util.time.now() gives fractions; they are dropped, not rounded.
		{`dt.datetime(1234567890.9)`, "2009-02-13T23:31:30Z"},
		{`dt.parse("2009-02-13T23:31:30Z")`, "1234567890"},
		{`dt.parse("2009-02-13T23:31:30.5Z")`, "1234567890"},
		{`dt.parse("2009-02-14T01:31:30+02:00")`, "1234567890"},
		{`dt.parse("2009-02-13T18:01:30-0530")`, "1234567890"},
		{`dt.parse("20090213T23:31:30")`, "1234567890"},
		{`dt.parse("2000-02-29T00:00:00Z")`, "951782400"},
		{`dt.parse("1900-03-01T00:00:00Z")`, "-2203891200"},
		{`dt.parse("2009-00-01T00:00:00Z") == dt.parse("2008-12-01T00:00:00Z")`, "true"},
		{`dt.parse("2009-02-13T23:31:30 junk")`, "nil"},
		{`dt.parse("2009-02-13")`, "nil"},
		{`dt.parse(42)`, "nil"},
		{`dt.parse()`, "nil"},
	}
	l := newLoop(t)
	for _, tc := range tests {
		got := testkit.CallLua(t, l, `local dt = require "util.datetime"; return tostring(`+tc.expr+`)`)
		if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
		}
	}
}

func TestDatetimeDefaultsToNow(t *testing.T) {
	l := newLoop(t)
	before := time.Now().UTC().Truncate(time.Second)
	got := testkit.CallLua(t, l, `return require"util.datetime".datetime()`)
	after := time.Now().UTC()
	parsed, err := time.Parse(time.RFC3339, got)
	if err != nil {
		t.Fatalf("datetime() = %q: %v", got, err)
	}
	if parsed.Before(before) || parsed.After(after) {
		t.Errorf("datetime() = %s, not between %s and %s", got, before, after)
	}
}
