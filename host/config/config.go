// Package config loads a Prosody 0.12 configuration file (prosody.cfg.lua)
// unchanged and hands its sections and options to Go.
//
// The file is Lua. As Prosody does, it is executed, not parsed: global
// assignments become options of the section being declared, VirtualHost,
// Component and Include are functions, and other names read fall back to
// the global environment (Lua's library, require, prosody, _G). It runs in
// its own short-lived gopher-lua state with a bounded running time, never in
// modhost's main loop.
package config

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// DefaultTimeout bounds how long Load and Parse let a configuration run: a
// config file is a program, and a loop in it must not hang modhost's start.
const DefaultTimeout = 5 * time.Second

// Kind says what declared a section.
type Kind int

const (
	Global      Kind = iota // options before any host, and options of "*"
	VirtualHost             // VirtualHost "name" or Host "name"
	Component               // Component "name" or Component "name" "module"
)

func (k Kind) String() string {
	switch k {
	case Global:
		return "global"
	case VirtualHost:
		return "VirtualHost"
	case Component:
		return "Component"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Section is the global section or one host of the config.
type Section struct {
	Name string // "*" for the global section, else the host name after nameprep
	Kind Kind
	// ComponentModule is "module" for Component "name" "module" (or a later
	// component_module = "module"), "" for a plain (external) Component and
	// for every other kind.
	ComponentModule string
	// Options are this section's own options as Go values in lua.ToGo's
	// shapes (string, float64, bool, []any, map[string]any). Functions and
	// other Lua-only values are dropped: the Lua state is gone after loading.
	// As in Prosody, VirtualHost records defined = true and Component records
	// component_module and load_global_modules = false among them.
	Options map[string]any
	File    string // where the section was first declared
	Line    int    // 0 for the global section

	modules moduleLists // the module lists as Prosody's modulemanager sees them
}

// Config is a loaded configuration.
type Config struct {
	Path   string   // the file given to Load or Parse
	Global *Section // Name "*"
	Hosts  []*Section
	// Warnings are what Prosody would log while loading but not refuse,
	// "FILE:LINE: Duplicate option 'x'" for instance.
	Warnings []string
	// Logs are the lines the config logged with log(level, message, ...).
	Logs []LogLine

	byName map[string]*Section
}

// Options change how a config runs. The zero value is what Load and Parse use.
type Options struct {
	// Print receives what the config prints with print and io.write;
	// os.Stderr when nil. Prosody prints to standard output, which modhost
	// keeps for its reports (modhost check, prosody-snippet).
	Print io.Writer

	// sealed takes away what reaches outside the process (commands, writes,
	// standard input): FuzzParse runs arbitrary input.
	sealed bool
}

// Load reads and runs the config file at path, with DefaultTimeout.
func Load(path string) (*Config, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	return LoadContext(ctx, path)
}

// LoadContext is Load with the running time of the config bounded by ctx.
func LoadContext(ctx context.Context, path string) (*Config, error) {
	return LoadWith(ctx, path, Options{})
}

// LoadWith is LoadContext with options.
func LoadWith(ctx context.Context, path string, opts Options) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return ParseWith(ctx, src, path, opts)
}

// Parse runs src as the config file filename, with DefaultTimeout. filename
// names the file in errors and is where Include and the file helpers resolve
// relative paths from.
func Parse(src []byte, filename string) (*Config, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	return ParseContext(ctx, src, filename)
}

// ParseContext is Parse with the running time of the config bounded by ctx.
// Errors in the config (syntax or runtime, in the file or one it includes)
// are *Error.
func ParseContext(ctx context.Context, src []byte, filename string) (*Config, error) {
	return ParseWith(ctx, src, filename, Options{})
}

// ParseWith is ParseContext with options.
func ParseWith(ctx context.Context, src []byte, filename string, opts Options) (*Config, error) {
	if opts.Print == nil {
		opts.Print = os.Stderr
	}
	return run(ctx, src, filename, opts)
}

// LogTo logs what loading the config had to say once a logger exists: the
// warnings, then what the config logged itself, both with source "config".
func (c *Config) LogTo(logger *slog.Logger) {
	for _, w := range c.Warnings {
		logger.Warn(w, "source", "config")
	}
	for _, l := range c.Logs {
		i, _ := levelIndex(l.Level)
		logger.Log(context.Background(), slogLevels[i], l.Message, "source", "config")
	}
}

// Host returns the section named name ("*" for the global one), or nil.
// Names are matched as stored, that is after nameprep (lower case).
func (c *Config) Host(name string) *Section {
	if name == "*" {
		return c.Global
	}
	return c.byName[name]
}

// Get returns option for host: the host's own value, else the global one, as
// Prosody's configmanager.get does. An unknown host sees the global options.
func (c *Config) Get(host, option string) (any, bool) {
	if s := c.Host(host); s != nil {
		if v, ok := s.Options[option]; ok {
			return v, true
		}
	}
	v, ok := c.Global.Options[option]
	return v, ok
}

// HostEnabled reports whether Prosody would activate host: it is declared
// and its (possibly inherited) enabled option is not false.
func (c *Config) HostEnabled(host string) bool {
	if host == "*" || c.byName[host] == nil {
		return false
	}
	v, _ := c.Get(host, "enabled")
	return v != false
}

// Error is a mistake in a config file, at the line where it was made.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }
