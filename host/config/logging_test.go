package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// levelsSeen lists which of the test messages ("at-debug" … "at-error")
// appear in out, in level order.
func levelsSeen(out string) []string {
	var seen []string
	for _, l := range levelNames() {
		if strings.Contains(out, "\tat-"+l+"\n") {
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

// fileLine is a file sink's line: Prosody's timestamp, then source, level
// and message between tabs.
var fileLine = regexp.MustCompile(`^[A-Z][a-z]{2} [0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] localhost:mod_x\tinfo\thello "there"\n\tsecond line path=/a b="with space"\n$`)

func TestLoggerWritesProsodysLinesTimestampedInFilesOnly(t *testing.T) {
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
	logger.With("source", "localhost:mod_x").Info("hello \"there\"\n\tsecond line", "path", "/a", "b", "with space")
	closer.Close()
	file, _ := os.ReadFile(filepath.Join(dir, "p.log"))
	if !fileLine.Match(file) {
		t.Errorf("file line %q does not match %s", file, fileLine)
	}
	want := "localhost:mod_x     info\thello \"there\"\n\tsecond line path=/a b=\"with space\"\n"
	if stderr.String() != want {
		t.Errorf("console line %q, want %q", stderr.String(), want)
	}
}

func TestProsodyLinesNameTheSourceAsProsodyDoes(t *testing.T) {
	at := time.Date(2024, time.December, 1, 23, 39, 33, 0, time.Local)
	tests := []struct {
		name  string
		log   func(*slog.Logger)
		width int
		want  string
	}{
		{"a module's source", func(l *slog.Logger) { l.With("source", "example.com:http_roster_admin").Warn("slow") }, -1,
			"Dec 01 23:39:33 example.com:http_roster_admin\twarn\tslow\n"},
		{"host and module attributes make the source", func(l *slog.Logger) {
			l.Info("HTTP routes mounted", "host", "example.com", "module", "http_files", "path", "/files")
		}, -1,
			"Dec 01 23:39:33 example.com:http_files\tinfo\tHTTP routes mounted path=/files\n"},
		{"a host alone is the source", func(l *slog.Logger) { l.Debug("stanza dropped", "host", "example.com") }, -1,
			"Dec 01 23:39:33 example.com\tdebug\tstanza dropped\n"},
		{"nothing names it: general", func(l *slog.Logger) { l.Error("boom", "error", errors.New("it broke")) }, -1,
			"Dec 01 23:39:33 general\terror\tboom error=\"it broke\"\n"},
		{"a source attribute keeps host as an attribute", func(l *slog.Logger) { l.With("source", "link", "host", "example.com").Info("connected") }, -1,
			"Dec 01 23:39:33 link\tinfo\tconnected host=example.com\n"},
		{"groups qualify keys", func(l *slog.Logger) {
			l.WithGroup("req").Info("done", "status", 200, slog.Group("client", "ip", "::1"))
		}, -1,
			"Dec 01 23:39:33 general\tinfo\tdone req.status=200 req.client.ip=::1\n"},
		{"the console column grows for a long source", func(l *slog.Logger) {
			l.With("source", "a").Info("one")
			l.With("source", "a-very-long-source-name").Info("two")
			l.With("source", "a").Info("three")
		}, 20,
			"Dec 01 23:39:33 a                   info\tone\nDec 01 23:39:33 a-very-long-source-name  info\ttwo\nDec 01 23:39:33 a                        info\tthree\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			h := newProsodyHandler(&destination{w: &out}, defaultTimestamp, tt.width)
			tt.log(slog.New(fixedTime{h, at}))
			if out.String() != tt.want {
				t.Errorf("got  %q\nwant %q", out.String(), tt.want)
			}
		})
	}
}

// fixedTime gives every record the same time, for exact lines.
type fixedTime struct {
	slog.Handler
	at time.Time
}

func (f fixedTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = f.at
	return f.Handler.Handle(ctx, r)
}
func (f fixedTime) WithAttrs(a []slog.Attr) slog.Handler {
	return fixedTime{f.Handler.WithAttrs(a), f.at}
}
func (f fixedTime) WithGroup(n string) slog.Handler { return fixedTime{f.Handler.WithGroup(n), f.at} }

func TestStrftimeCoversProsodysTimestampFormats(t *testing.T) {
	at := time.Date(2024, time.February, 3, 4, 5, 6, 0, time.UTC)
	for format, want := range map[string]string{
		defaultTimestamp:        "Feb 03 04:05:06 ",
		"%Y-%m-%d %H:%M:%S":     "2024-02-03 04:05:06",
		"%F %T %z %%":           "2024-02-03 04:05:06 +0000 %",
		"%a %e %j %I%p %s %q %": "Sat  3 034 04AM 1706933106 %q %",
	} {
		if got := strftime(format, at); got != want {
			t.Errorf("strftime(%q) = %q, want %q", format, got, want)
		}
	}
}

func TestLogFormatJSONAndRuleOptions(t *testing.T) {
	dir := writeFiles(t, map[string]string{"prosody.cfg.lua": `
log_format = "json"
log = {
	{ to = "console", levels = { min = "info" } },
	{ to = "file", filename = "p.log", format = "prosody", timestamps = false },
	{ to = "file", filename = "iso.log", format = "prosody", timestamps = "%Y-%m-%d", source_width = 12 },
	{ to = "file", filename = "all.json" }, -- log_format applies
	{ to = "file", filename = "kv.log", format = "logfmt", levels = "warn" },
}`})
	c, err := Load(filepath.Join(dir, "prosody.cfg.lua"))
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	logger, closer, err := c.Logger(&stderr)
	if err != nil {
		t.Fatal(err)
	}
	logger.With("source", "example.com:mod_x").Warn("careful", "user", "alice")
	closer.Close()
	var line map[string]any
	if err := json.Unmarshal(stderr.Bytes(), &line); err != nil {
		t.Fatalf("console is not JSON: %v\n%s", err, stderr.String())
	}
	if line["msg"] != "careful" || line["level"] != "warn" || line["source"] != "example.com:mod_x" || line["user"] != "alice" || line["time"] == nil {
		t.Errorf("JSON line %v", line)
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if got := read("p.log"); got != "example.com:mod_x\twarn\tcareful user=alice\n" {
		t.Errorf("p.log = %q", got)
	}
	if got, want := read("iso.log"), time.Now().Format("2006-01-02")+" example.com:mod_x  warn\tcareful user=alice\n"; got != want {
		t.Errorf("iso.log = %q, want %q", got, want)
	}
	if got := read("all.json"); !strings.HasPrefix(got, `{"time":`) {
		t.Errorf("all.json = %q, want JSON", got)
	}
	if got := read("kv.log"); !strings.HasPrefix(got, "time=") || !strings.Contains(got, `level=WARN msg=careful source=example.com:mod_x user=alice`) {
		t.Errorf("kv.log = %q", got)
	}
}

func TestLoggerRejectsBrokenLogOptions(t *testing.T) {
	for _, option := range []string{
		`log = { { to = "file" } }`,                     // no filename
		`log = { { to = "console", levels = "loud" } }`, // no such level
		`log = "nodir/x/y.log"`,                         // folder missing
		`log = 42`,                                      // not a form Prosody knows
		`log_format = "xml"`,                            // not a format modhost writes
		`log = { { to = "console", format = "yaml" } }`,
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
