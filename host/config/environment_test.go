package config

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// loadCorpus loads a corpus config with modhost, what it prints kept.
func loadCorpus(t *testing.T, path string) (*Config, string, error) {
	t.Helper()
	var printed bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	c, err := LoadWith(ctx, path, Options{Print: &printed})
	return c, printed.String(), err
}

var oracleErrorLine = regexp.MustCompile(`:(\d+): `)

func TestCorpusMatchesProsody(t *testing.T) {
	t.Setenv("MODHOST_CORPUS_DOMAIN", "corpus.example")
	files, err := filepath.Glob("testdata/corpus/*.cfg.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		path, err := filepath.Abs(file)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(file)
		if name == "lua54.cfg.lua" {
			continue // TestLua54ConfigsAreToldWhatToWrite
		}
		t.Run(name, func(t *testing.T) {
			want := runOracle(t, path)
			c, printed, err := loadCorpus(t, path)
			if strings.HasSuffix(name, "-fails.cfg.lua") {
				// Both refuse the file, at the same line.
				m := oracleErrorLine.FindStringSubmatch(want.err)
				var e *Error
				if m == nil || !errors.As(err, &e) || strconv.Itoa(e.Line) != m[1] || e.File != path {
					t.Fatalf("modhost: %v; Prosody: %s", err, want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			matchOracle(t, c, want)
			if printed != want.printed {
				t.Errorf("printed %q, Prosody printed %q", printed, want.printed)
			}
		})
	}
}

func TestLua54ConfigsAreToldWhatToWrite(t *testing.T) {
	original, err := filepath.Abs("testdata/corpus/lua54.cfg.lua")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = loadCorpus(t, original)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *Error", err)
	}
	want := original + ":3: Lua 5.3 operator // (floor division) is not supported by modhost's Lua 5.1 VM; instead write math.floor(a / b)"
	if e.Error() != want {
		t.Errorf("error = %q\nwant    %q", e.Error(), want)
	}
	// Written as the message says, the file gives modhost the options Prosody
	// gives the original.
	rewritten, err := filepath.Abs("testdata/corpus/lua54-rewritten.lua")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := loadCorpus(t, rewritten)
	if err != nil {
		t.Fatal(err)
	}
	matchOracle(t, c, runOracle(t, original))
}

func TestTheConfigSeesProsodysGlobals(t *testing.T) {
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, map[string]string{"data.txt": "hello\n"})
	main := filepath.Join(dir, "prosody.cfg.lua")
	src := `
local pp = require "util.pposix"
node = pp.uname().nodename
process_type = prosody.process_type
config_loaded = prosody.config_loaded
config_file = prosody.config_file
config_dir = prosody.paths.config
g_is_g = _G._G == _G and Lua == _G
print("a", 1, nil, true)
io.write("b", 2, "\n")
io.stdout:write("") -- io.stdout is stderr: nothing reaches stdout
log("info", "%d hosts", 0)
log("debug", "plain")
log("shout", "not a level: dropped")
local f = assert(io.open("` + dir + `/data.txt"))
first = f:read("*l")
f:close()
jid = require "util.jid".bare("a@b/c")
loaded = type(loadstring("return 1")) == "function" and type(dofile) == "function"
if prosody.process_type == "prosody" then skipped = false end
`
	var printed bytes.Buffer
	c, err := ParseWith(context.Background(), []byte(src), main, Options{Print: &printed})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"node": hostname, "process_type": "modhost", "config_loaded": false,
		"config_file": main, "config_dir": dir, "g_is_g": true, "first": "hello",
		"jid": "a@b", "loaded": true,
	}
	if !reflect.DeepEqual(c.Global.Options, want) {
		t.Errorf("options = %#v\nwant %#v", c.Global.Options, want)
	}
	if got := printed.String(); got != "a\t1\tnil\ttrue\nb2\n" {
		t.Errorf("printed %q", got)
	}
	wantLogs := []LogLine{{"info", "0 hosts"}, {"debug", "plain"}}
	if !reflect.DeepEqual(c.Logs, wantLogs) {
		t.Errorf("logs = %v, want %v", c.Logs, wantLogs)
	}
}

func TestLoadingStaysBoundedAndTheProcessAlive(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"os.exit is an error at its line", "a = 1\n\nos.exit(3)", "test.cfg.lua:3: the config called os.exit(3)"},
		{"special files are not read", `assert(io.open("/dev/zero") == nil) x = FileContents("/dev/zero")`, "not a regular file"},
		{"io.lines refuses special files", `for l in io.lines("/dev/zero") do end`, "not a regular file"},
		{"string.rep is bounded", `x = ("x"):rep(1e9)`, "longer than"},
		{"libraries needing the loop say so", `require "net.http"`, "net.http needs modhost's running loop"},
		{"util.pposix does not change the process", `require "util.pposix".setuid("prosody")`, "modhost does not change its own process"},
		{"a library modhost lacks is not found", `require "socket"`, "module socket not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "test.cfg.lua")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestASealedConfigReachesNothingOutside(t *testing.T) {
	dir := t.TempDir()
	for _, src := range []string{
		`os.execute("true")`,
		`os.remove("` + dir + `")`,
		`os.rename("` + dir + `", "` + dir + `.x")`,
		`io.popen("true")`,
		`io.read()`,
		`for l in io.lines() do end`,
		`io.open("` + dir + `/new", "w")`,
	} {
		_, err := ParseWith(context.Background(), []byte(src), "fuzz.cfg.lua", Options{Print: &bytes.Buffer{}, sealed: true})
		if err == nil || !strings.Contains(err.Error(), "not available to this config") && !strings.Contains(err.Error(), "only open files for reading") {
			t.Errorf("%s: error = %v, want it refused", src, err)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the folder is gone: %v", err)
	}
}
