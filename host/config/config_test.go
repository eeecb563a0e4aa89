package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files (path → content) under a new temporary folder and
// returns the folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse([]byte(src), "test.cfg.lua")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// sectionView is what a test compares of a Section.
type sectionView struct {
	Name, ComponentModule string
	Kind                  Kind
	Line                  int
}

func TestSectionsFollowDeclarationsInFileOrder(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []sectionView
	}{
		{"no hosts", `admins = {}`, nil},
		{"VirtualHost and its Host aliases", "VirtualHost \"a.example\"\nHost \"b.example\"\nhost \"c.example\"",
			[]sectionView{{"a.example", "", VirtualHost, 1}, {"b.example", "", VirtualHost, 2}, {"c.example", "", VirtualHost, 3}}},
		{"plain Component and Component with a module", "Component \"ext.example\"\ncomponent \"conference.example\" \"muc\"",
			[]sectionView{{"ext.example", "", Component, 1}, {"conference.example", "muc", Component, 2}}},
		{"names are nameprepped to lower case", `VirtualHost "LocalHost"`,
			[]sectionView{{"localhost", "", VirtualHost, 1}}},
		{"nameprep case-folds ß to ss and NFKC-normalises", "VirtualHost \"Straße.example\"\nComponent \"ＲＯＯＭＳ.example\" \"muc\"",
			[]sectionView{{"strasse.example", "", VirtualHost, 1}, {"rooms.example", "muc", Component, 2}}},
		{"redeclaring a host keeps its first position", "VirtualHost \"a\"\nVirtualHost \"b\"\nVirtualHost \"a\"",
			[]sectionView{{"a", "", VirtualHost, 1}, {"b", "", VirtualHost, 2}}},
		{"component_module set later names the module", "Component \"c\"\ncomponent_module = \"proxy65\"",
			[]sectionView{{"c", "proxy65", Component, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.src)
			var got []sectionView
			for _, s := range c.Hosts {
				got = append(got, sectionView{s.Name, s.ComponentModule, s.Kind, s.Line})
				if c.Host(s.Name) != s {
					t.Errorf("Host(%q) does not return the section", s.Name)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sections = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOptionsBelongToTheSectionDeclaredBeforeThem(t *testing.T) {
	src := `
admins = { "a@example" }
port = 5222
VirtualHost "one"
	port = 1
	ssl = { key = "k" }
VirtualHost "two" { port = 2 }
after_table_form = true      -- the table form returns to the global section
Component "c" "muc" { name = "Rooms" }
also_global = "yes"
Component "d"
	component_secret = "s"
`
	c := mustParse(t, src)
	tests := []struct {
		section string
		want    map[string]any
	}{
		{"*", map[string]any{"admins": []any{"a@example"}, "port": float64(5222), "after_table_form": true, "also_global": "yes"}},
		{"one", map[string]any{"defined": true, "port": float64(1), "ssl": map[string]any{"key": "k"}}},
		{"two", map[string]any{"defined": true, "port": float64(2)}},
		{"c", map[string]any{"component_module": "muc", "load_global_modules": false, "name": "Rooms"}},
		{"d", map[string]any{"component_module": "component", "load_global_modules": false, "component_secret": "s"}},
	}
	for _, tt := range tests {
		if got := c.Host(tt.section).Options; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("options of %s = %#v, want %#v", tt.section, got, tt.want)
		}
	}
}

func TestGetInheritsFromTheGlobalSection(t *testing.T) {
	c := mustParse(t, `
storage = "internal"
http_ports = { 5280 }
VirtualHost "a"
	storage = { roster = "memory" }
VirtualHost "b"
`)
	tests := []struct {
		host, option string
		want         any
		ok           bool
	}{
		{"a", "storage", map[string]any{"roster": "memory"}, true}, // own value wins
		{"b", "storage", "internal", true},                         // inherited
		{"b", "http_ports", []any{float64(5280)}, true},
		{"*", "storage", "internal", true},
		{"unknown.example", "storage", "internal", true}, // Prosody: an unknown host reads the global table
		{"a", "missing", nil, false},
	}
	for _, tt := range tests {
		got, ok := c.Get(tt.host, tt.option)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Get(%q, %q) = %#v, %v; want %#v, %v", tt.host, tt.option, got, ok, tt.want, tt.ok)
		}
	}
	if c.Host("*") != c.Global || c.Host("nope") != nil {
		t.Error("Host(\"*\") must be the global section and unknown hosts nil")
	}
}

func TestNamesReadInTheConfigResolveAsInProsody(t *testing.T) {
	t.Setenv("MODHOST_TEST_SECRET", "s3cret")
	c := mustParse(t, `
admins = { "x@example" }
read_back = admins                    -- 0.12: options are not variables, this is nil
from_env = ENV_MODHOST_TEST_SECRET
unset_env = ENV_MODHOST_TEST_UNSET_VARIABLE
kind = type(admins)
joined = table.concat({ "a", "b" }, ",")
unpacked = select(2, table.unpack({ "p", "q" }))
upper = ("x"):upper()
home = os.getenv("MODHOST_TEST_SECRET")
via_lua = Lua.string.rep("ab", 2)
`)
	want := map[string]any{
		"admins":   []any{"x@example"},
		"from_env": "s3cret",
		"kind":     "nil",
		"joined":   "a,b",
		"unpacked": "q",
		"upper":    "X",
		"home":     "s3cret",
		"via_lua":  "abab",
	}
	if got := c.Global.Options; !reflect.DeepEqual(got, want) {
		t.Errorf("options = %#v, want %#v", got, want)
	}
}

func TestIncludeRunsFilesRelativeToTheIncludingFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"prosody.cfg.lua": `
order = "main"
VirtualHost "a"
Include "conf.d/*.cfg.lua"
after_include = true          -- still in VirtualHost "a": Include does not change the section
Include "nothing/*.none"      -- a glob that matches nothing is fine
`,
		"conf.d/20-second.cfg.lua": `second = true -- each file starts global`,
		"conf.d/10-first.cfg.lua":  "first = true\nInclude \"../shared/extra.lua\"\nVirtualHost \"b\"\nb_option = 1",
		"conf.d/.hidden.cfg.lua":   `hidden = true`,
		"conf.d/notes.txt":         `this is not Lua`,
		"shared/extra.lua":         `extra = "relative to conf.d/10-first.cfg.lua"`,
		"nothing/.keep":            ``,
	})
	c, err := Load(filepath.Join(dir, "prosody.cfg.lua"))
	if err != nil {
		t.Fatal(err)
	}
	wantGlobal := map[string]any{"order": "main", "first": true, "second": true, "extra": "relative to conf.d/10-first.cfg.lua"}
	if !reflect.DeepEqual(c.Global.Options, wantGlobal) {
		t.Errorf("global options = %#v, want %#v", c.Global.Options, wantGlobal)
	}
	if got := c.Host("a").Options["after_include"]; got != true {
		t.Errorf("after_include in host a = %v, want true", got)
	}
	b := c.Host("b")
	if b == nil || b.Options["b_option"] != float64(1) || b.File != filepath.Join(dir, "conf.d/10-first.cfg.lua") || b.Line != 3 {
		t.Errorf("host b = %+v, want declared at conf.d/10-first.cfg.lua:3 with b_option", b)
	}
}

func TestHelpersReadFilesRelativeToTheConfig(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"prosody.cfg.lua": `
secret = FileContents("secret.txt")
first = FileLine("lines.txt")
all = FileLines("lines.txt")
none = FileLines("empty.txt")
from_script = RunScript("script.lua")
script_global = leaked   -- a script's globals are globals, as with Prosody's dofile
`,
		"secret.txt": "s3cret\n",
		"lines.txt":  "one\ntwo\n",
		"empty.txt":  "",
		"script.lua": `leaked = 1 return { answer = 42 }`,
	})
	c, err := Load(filepath.Join(dir, "prosody.cfg.lua"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"secret":        "s3cret\n",
		"first":         "one",
		"all":           []any{"one", "two"},
		"none":          map[string]any{},
		"from_script":   map[string]any{"answer": float64(42)},
		"script_global": float64(1),
	}
	if !reflect.DeepEqual(c.Global.Options, want) {
		t.Errorf("options = %#v, want %#v", c.Global.Options, want)
	}
}

func TestCredentialReadsTheCredentialsDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{"db": "pw"})
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	c := mustParse(t, `password = Credential("db")`)
	if got := c.Global.Options["password"]; got != "pw" {
		t.Errorf("password = %v, want pw", got)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	if _, err := Parse([]byte(`password = Credential("db")`), "c.lua"); err == nil || !strings.Contains(err.Error(), "CREDENTIALS_DIRECTORY") {
		t.Errorf("error = %v, want one about $CREDENTIALS_DIRECTORY", err)
	}
}

func TestErrorsNameTheFileAndLine(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"syntax.lua":  "a = 1\nb = = 2\n",
		"runtime.lua": "a = 1\n\nlocal t = nil\nb = t.x\n",
		"loop.lua":    `Include "loop.lua"`,
		"raise.lua":   "\nerror('raised here')\n",
		"bitwise.lua": "-- flags\nlocal flags = 6\nmask = flags & 2\n",
	})
	tests := []struct {
		name      string
		src       string
		wantFile  string // relative to dir, or "main"
		wantLine  int
		wantInMsg string
	}{
		{"syntax error", "a = 1\n\nb = {\n  c = \n}\n", "main", 5, "syntax error near '}'"},
		{"unfinished table", "a = {\n", "main", 1, "at end of file"},
		{"runtime error", "a = 1\nlocal x = nil\nb = x + 1\n", "main", 3, "cannot perform add"},
		{"error() keeps its own position", "local function f()\n error('bad value', 2)\nend\n\nf()\n", "main", 5, "bad value"},
		{"error() at level 1 is the line of the call", "local function f()\n\n error('inner')\nend\nf()\n", "main", 3, "inner"},
		{"error without position gets the running line", "\n\nerror('plain', 0)", "main", 3, "plain"},
		{"error with a table value", "\nerror({})", "main", 2, "table value"},
		{"helper error points at the calling line", "a = 1\n\nx = FileContents(\n  'missing.txt')\n", "main", 3, "missing.txt"},
		{"VirtualHost without a name", "\nVirtualHost()", "main", 2, "Host must have a name"},
		{"VirtualHost with a module", `VirtualHost "a" "muc"`, "main", 1, "VirtualHost entries do not accept a module name (module 'muc' provided for host 'a')"},
		{"VirtualHost followed by a number", `VirtualHost "a" (1)`, "main", 1, "expected options but received a number"},
		{"Component without a name", "\n\nComponent()", "main", 3, "Component must have a name"},
		{"Component clashing with a VirtualHost", "VirtualHost \"a\"\nComponent \"a\"", "main", 2, `Component "a" clashes with previously defined VirtualHost "a"`},
		{"VirtualHost clashing with a Component", "Component \"a\" \"muc\"\nVirtualHost \"a\"", "main", 2, `Host "a" clashes with previously defined MUC Component "a"`},
		{"VirtualHost clashing with an external Component", "Component \"a\"\nVirtualHost \"a\"", "main", 2, "previously defined external Component"},
		{"forbidden characters", "VirtualHost \"a\\226\\128\\168b\"", "main", 1, "contains forbidden characters"},
		{"missing included file", "\nInclude \"nope.cfg.lua\"", "main", 2, "Error loading included " + dir + "/nope.cfg.lua: no such file or directory"},
		{"missing glob folder", "Include \"nodir/*.lua\"", "main", 1, "Error expanding wildcard pattern"},
		{"syntax error in included file", "\n\nInclude \"syntax.lua\"", "syntax.lua", 2, "syntax error"},
		{"Lua 5.3 operator", "a = 1\nb = 7 // 2\n", "main", 2, "Lua 5.3 operator // (floor division) is not supported by modhost's Lua 5.1 VM; instead write math.floor(a / b)"},
		{"Lua 5.4 attribute", "local n <const> = 2\n", "main", 1, "Lua 5.4 attribute <const> is not supported by modhost's Lua 5.1 VM; instead write a plain local"},
		{"Lua 5.3 operator in an included file", "Include \"bitwise.lua\"", "bitwise.lua", 3, "Lua 5.3 operator & (bitwise and) is not supported by modhost's Lua 5.1 VM; instead write bit32.band(a, b)"},
		{"runtime error in included file", "Include \"runtime.lua\"", "runtime.lua", 4, "attempt to index"},
		{"error() in included file", "Include \"raise.lua\"", "raise.lua", 2, "raised here"},
		{"Include of a special file", "Include \"/dev/zero\"", "main", 1, "not a regular file"},
		{"Include loop", `Include "loop.lua"`, "loop.lua", 1, "nested more than"},
		{"Include without a name", `Include(nil)`, "main", 1, "Include expects a file name"},
		{"RunScript error is in the script", `RunScript "raise.lua"`, "raise.lua", 2, "raised here"},
	}
	main := filepath.Join(dir, "prosody.cfg.lua")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), main)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v (%T), want *Error", err, err)
			}
			wantFile := main
			if tt.wantFile != "main" {
				wantFile = filepath.Join(dir, tt.wantFile)
			}
			if e.File != wantFile || e.Line != tt.wantLine || !strings.Contains(e.Msg, tt.wantInMsg) {
				t.Errorf("error = %q, want %s:%d with %q", e.Error(), wantFile, tt.wantLine, tt.wantInMsg)
			}
			if e.Error() != e.File+":"+strconv.Itoa(e.Line)+": "+e.Msg {
				t.Errorf("Error() = %q does not read FILE:LINE: MSG", e.Error())
			}
		})
	}
}

func TestAnEndlessConfigIsStopped(t *testing.T) {
	for _, src := range []string{
		"while true do end",
		"while true do pcall(function() while true do end end) end",
		"local function f() return f() end f()",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		_, err := ParseContext(ctx, []byte(src), "loop.cfg.lua")
		cancel()
		if err == nil || !strings.Contains(err.Error(), "still running") {
			t.Errorf("%s: error = %v, want the config stopped", src, err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: took %v to stop", src, time.Since(start))
		}
	}
}

func TestDuplicateOptionsAreWarnedPerFile(t *testing.T) {
	c := mustParse(t, "a = 1\nVirtualHost \"h\"\na = 2 -- another section: fine\na = 3\n")
	want := []string{"test.cfg.lua:4: Duplicate option 'a'"}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("warnings = %q, want %q", c.Warnings, want)
	}
}

func TestHostEnabledFollowsTheInheritedEnabledOption(t *testing.T) {
	c := mustParse(t, "VirtualHost \"on\"\nVirtualHost \"off\"\nenabled = false\nComponent \"c\"\n")
	for host, want := range map[string]bool{"on": true, "off": false, "c": true, "*": false, "undeclared": false} {
		if got := c.HostEnabled(host); got != want {
			t.Errorf("HostEnabled(%q) = %v, want %v", host, got, want)
		}
	}
	c = mustParse(t, "enabled = false\nVirtualHost \"a\"\nVirtualHost \"b\"\nenabled = true")
	if c.HostEnabled("a") || !c.HostEnabled("b") {
		t.Error("a global enabled = false must disable hosts that do not enable themselves")
	}
}

func TestExampleConfigDisablesRosterOnLocalhost(t *testing.T) {
	c, err := Load("../../examples/prosody.cfg.lua")
	if err != nil {
		t.Fatal(err)
	}
	h := c.Host("localhost")
	if h == nil || h.Kind != VirtualHost {
		t.Fatalf("localhost = %+v, want a VirtualHost", h)
	}
	if got, _ := c.Get("localhost", "http_roster_url"); got != "http://localhost/contacts/%s" {
		t.Errorf("http_roster_url = %v", got)
	}
	if got, _ := c.Get("localhost", "storage"); !reflect.DeepEqual(got, map[string]any{"roster": "memory"}) {
		t.Errorf("storage = %v", got)
	}
	set := c.Modules("localhost")
	if contains(set.Enabled, "roster") || !contains(set.Disabled, "roster") {
		t.Errorf("roster must be disabled on localhost: %+v", set)
	}
	for _, m := range []string{"http_roster_admin", "block_subscriptions", "storage_memory", "http_files", "disco"} {
		if !contains(set.Enabled, m) {
			t.Errorf("%s missing from %v", m, set.Enabled)
		}
	}
	if !contains(c.Modules("*").Enabled, "roster") {
		t.Error("roster is still enabled globally")
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func TestACancelledContextStopsTheConfigNotTheLoader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ParseContext(ctx, []byte("a = 1"), "c.cfg.lua")
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "still running") {
		t.Errorf("error = %v, want the config stopped", err)
	}
}
