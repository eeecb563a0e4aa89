package compat_test

import (
	"log/slog"
	"testing"

	"github.com/modhost/modhost/internal/testkit"
)

func TestLoggerSendsLinesToSlog(t *testing.T) {
	tests := []struct {
		name      string
		call      string // Lua, with log = require"util.logger".init("mod_test")
		wantLevel slog.Level
		wantMsg   string // "" means no line at all
	}{
		{"debug level", `log("debug", "hello")`, slog.LevelDebug, "hello"},
		{"info level", `log("info", "hello")`, slog.LevelInfo, "hello"},
		{"warn level", `log("warn", "hello")`, slog.LevelWarn, "hello"},
		{"error level", `log("error", "hello")`, slog.LevelError, "hello"},
		{"unknown level is dropped", `log("verbose", "hello")`, 0, ""},
		{"non-string level is dropped", `log(3, "hello")`, 0, ""},
		{"formats with arguments", `log("info", "%s has %d contacts (%.1f%%)", "alice", 3, 12.5)`, slog.LevelInfo, "alice has 3 contacts (12.5%)"},
		{"no arguments means no formatting", `log("info", "100%d sure %s")`, slog.LevelInfo, "100%d sure %s"},
		{"missing argument shows as nil", `log("info", "%s and %s", "one")`, slog.LevelInfo, "one and (nil)"},
		{"nil argument shows as nil", `log("info", "got %s", nil)`, slog.LevelInfo, "got (nil)"},
		{"%s takes any value via tostring", `log("info", "%s %s", true, setmetatable({}, {__tostring = function() return "obj" end}))`, slog.LevelInfo, "true obj"},
		{"string for a number conversion", `log("info", "%d items", "many")`, slog.LevelInfo, "[many] items"},
		{"fraction for an integer conversion", `log("info", "%d items, %x", 1.5, 255)`, slog.LevelInfo, "[1.5] items, ff"},
		{"extra arguments are appended", `log("info", "done", "a", 2)`, slog.LevelInfo, "done [a] [2]"},
		{"trailing percent", `log("info", "at 50%", 1)`, slog.LevelInfo, "at 50% [1]"},
		{"unknown conversion kept as text", `log("info", "%z %s", "x")`, slog.LevelInfo, "%z x"},
		{"non-string message", `log("info", 42)`, slog.LevelInfo, "42"},
		{"make_logger", `require"util.logger".make_logger("mod_test", "warn")("w %s", 1)`, slog.LevelWarn, "w 1"},
		{"make_logger with unknown level", `require"util.logger".new("mod_test", "trace")("x")`, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, rec := newRecordedLoop(t)
			testkit.RunLua(t, l, `local log = require"util.logger".init("mod_test"); `+tc.call)
			got := rec.take()
			if tc.wantMsg == "" {
				if len(got) != 0 {
					t.Fatalf("want no log line, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one log line, got %+v", got)
			}
			if got[0].msg != tc.wantMsg || got[0].level != tc.wantLevel {
				t.Errorf("got %v %q, want %v %q", got[0].level, got[0].msg, tc.wantLevel, tc.wantMsg)
			}
			if src := got[0].attrs["source"]; src != "mod_test" {
				t.Errorf("source = %q, want mod_test", src)
			}
		})
	}
}

func TestLoggerReturnsNothing(t *testing.T) {
	l, _ := newRecordedLoop(t)
	testkit.RunLua(t, l, `
		local log = require"util.logger".init("x")
		assert(select("#", log("info", "a")) == 0)
		assert(select("#", log("nope", "a")) == 0)
	`)
}

func TestLoggerErrorInTostringIsALuaError(t *testing.T) {
	// A __tostring that fails is the caller's bug; it surfaces as a Lua error
	// in the caller rather than crashing the loop.
	l, _ := newRecordedLoop(t)
	testkit.RunLua(t, l, `
		local log = require"util.logger".init("x")
		local bad = setmetatable({}, {__tostring = function() error("boom") end})
		local ok, err = pcall(log, "info", "%s", bad)
		assert(not ok and tostring(err):find("boom"), tostring(err))
	`)
}
