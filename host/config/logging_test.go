package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// levelsSeen lists which of the test messages ("at-debug" … "at-error")
// appear in out, in level order.
func levelsSeen(out string) []string {
	var seen []string
	for _, l := range levelNames() {
		if strings.Contains(out, "msg=at-"+l) {
			seen = append(seen, l)
		}
	}
	return seen
}

func TestLoggerMapsProsodyLogForms(t *testing.T) {
	tests := []struct {
		name     string
		option   string              // the config lines
		want     map[string][]string // "stderr" or a file name → levels received
		wantWarn string              // text of a warning logged on stderr, if any
	}{
		{"no log option: info and up to stderr", ``,
			map[string][]string{"stderr": {"info", "warn", "error"}}, ""},
		{"debug = true lowers the default to debug", `debug = true`,
			map[string][]string{"stderr": {"debug", "info", "warn", "error"}}, ""},
		{"*console is everything from debug", `log = "*console"`,
			map[string][]string{"stderr": {"debug", "info", "warn", "error"}}, ""},
		{"a file name gets info and up", `log = "prosody.log"`,
			map[string][]string{"stderr": nil, "prosody.log": {"info", "warn", "error"}}, ""},
		{"level keys name a minimum level each", `log = { info = "prosody.log"; error = "prosody.err" }`,
			map[string][]string{"stderr": nil, "prosody.log": {"info", "warn", "error"}, "prosody.err": {"error"}}, ""},
		{"a level key may name the console", `log = { warn = "*console" }`,
			map[string][]string{"stderr": {"warn", "error"}}, ""},
		{"rule tables with min levels and level lists",
			`log = { { levels = { min = "warn" }, to = "console" }, { levels = { "error", "debug" }, to = "file", filename = "e.log" } }`,
			map[string][]string{"stderr": {"warn", "error"}, "e.log": {"debug", "error"}}, ""},
		{"min and max bound a range", `log = { { levels = { min = "info", max = "warn" }, to = "console" } }`,
			map[string][]string{"stderr": {"info", "warn"}}, ""},
		{"max alone selects only that level, as in Prosody", `log = { { levels = { max = "warn" }, to = "console" } }`,
			map[string][]string{"stderr": {"warn"}}, ""},
		{"a single level name", `log = { { levels = "error", to = "console" } }`,
			map[string][]string{"stderr": {"error"}}, ""},
		{"a rule without levels gets them all", `log = { { to = "file", filename = "all.log" } }`,
			map[string][]string{"stderr": nil, "all.log": {"debug", "info", "warn", "error"}}, ""},
		{"list entries and level keys together", `log = { "*console", info = "x.log" }`,
			map[string][]string{"stderr": {"debug", "info", "warn", "error"}, "x.log": {"info", "warn", "error"}}, ""},
		{"*syslog goes to the console with a warning", `log = "*syslog"`,
			map[string][]string{"stderr": {"debug", "info", "warn", "error"}}, "no syslog sink"},
		{"two rules on one file share it", `log = { { levels = "info", to = "file", filename = "same.log" }, { levels = "error", to = "file", filename = "same.log" } }`,
			map[string][]string{"stderr": nil, "same.log": {"info", "error"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"prosody.cfg.lua": tt.option + "\nVirtualHost \"localhost\"\n"})
			c, err := Load(filepath.Join(dir, "prosody.cfg.lua"))
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			logger, closer, err := c.Logger(&stderr)
			if err != nil {
				t.Fatal(err)
			}
			logger.Debug("at-debug")
			logger.Info("at-info")
			logger.Warn("at-warn")
			logger.Error("at-error")
			if err := closer.Close(); err != nil {
				t.Fatal(err)
			}
			for sink, want := range tt.want {
				out := stderr.String()
				if sink != "stderr" {
					data, err := os.ReadFile(filepath.Join(dir, sink))
					if err != nil {
						t.Fatalf("log file %s: %v", sink, err)
					}
					out = string(data)
				}
				if got := levelsSeen(out); !reflect.DeepEqual(got, want) {
					t.Errorf("%s received %v, want %v\n%s", sink, got, want, out)
				}
			}
			if tt.wantWarn != "" && !strings.Contains(stderr.String(), tt.wantWarn) {
				t.Errorf("stderr lacks warning %q:\n%s", tt.wantWarn, stderr.String())
			}
		})
	}
}

func TestLoggerTimestampsFilesNotTheConsole(t *testing.T) {
	dir := writeFiles(t, map[string]string{"prosody.cfg.lua": `log = { "*console", info = "p.log" }`})
	c, err := Load(filepath.Join(dir, "prosody.cfg.lua"))
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	logger, closer, err := c.Logger(&stderr)
	if err != nil {
		t.Fatal(err)
	}
	logger.With("host", "localhost").Info("hello")
	closer.Close()
	file, _ := os.ReadFile(filepath.Join(dir, "p.log"))
	if !strings.Contains(string(file), "time=") || strings.Contains(stderr.String(), "time=") {
		t.Errorf("want time= in the file only:\nfile: %s\nstderr: %s", file, stderr.String())
	}
	if !strings.Contains(string(file), "host=localhost") || !strings.Contains(stderr.String(), "host=localhost") {
		t.Errorf("attributes must reach every sink:\nfile: %s\nstderr: %s", file, stderr.String())
	}
}

func TestLoggerRejectsBrokenLogOptions(t *testing.T) {
	for _, option := range []string{
		`log = { { to = "file" } }`,                     // no filename
		`log = { { to = "console", levels = "loud" } }`, // no such level
		`log = "nodir/x/y.log"`,                         // folder missing
		`log = 42`,                                      // not a form Prosody knows
	} {
		dir := writeFiles(t, map[string]string{"prosody.cfg.lua": option})
		c, err := Load(filepath.Join(dir, "prosody.cfg.lua"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Logger(&bytes.Buffer{}); err == nil {
			t.Errorf("%s: no error", option)
		}
	}
}
