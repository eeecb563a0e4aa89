package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// levelNames are Prosody's four log levels, lowest first, as loggingmanager
// orders them.
func levelNames() [4]string { return [4]string{"debug", "info", "warn", "error"} }

// levelSet is which of Prosody's levels a sink receives, indexed like levelNames.
type levelSet [4]bool

func levelIndex(name string) (int, bool) {
	for i, n := range levelNames() {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// slogLevels are slog's levels for Prosody's, indexed like levelNames.
var slogLevels = [4]slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

// slogIndex maps a slog level onto Prosody's: below Info is debug, and so on.
func slogIndex(l slog.Level) int {
	switch {
	case l < slog.LevelInfo:
		return 0
	case l < slog.LevelWarn:
		return 1
	case l < slog.LevelError:
		return 2
	}
	return 3
}

// from returns the levels from min up, as { min = "info" } means.
func from(min int) levelSet {
	var s levelSet
	for i := min; i < len(s); i++ {
		s[i] = true
	}
	return s
}

// sinkRule is one log destination of the config.
type sinkRule struct {
	to          string // "console" or "file"
	filename    string
	levels      levelSet
	timestamps  string // strftime format starting each line, "" for none
	format      string // FormatProsody, FormatJSON or FormatLogfmt
	sourceWidth int    // the column the source is padded to; -1: a tab after it
}

// consoleRule and fileRule are a console and a file sink with Prosody's
// defaults: the console pads the source and has no timestamps, files have
// them and a tab after the source.
func consoleRule(levels levelSet) sinkRule {
	return sinkRule{to: "console", levels: levels, sourceWidth: consoleSourceWidth}
}

func fileRule(filename string, levels levelSet) sinkRule {
	return sinkRule{to: "file", filename: filename, levels: levels, timestamps: defaultTimestamp, sourceWidth: -1}
}

// Logger builds the logger the config's global log option describes, in
// the forms Prosody 0.12's loggingmanager accepts:
//
//	log = "*console"                          -- everything, debug up, to the console
//	log = "prosody.log"                       -- info up (debug with debug = true) to a file
//	log = { info = "prosody.log"; error = "prosody.err"; warn = "*console" }
//	log = { { levels = { min = "info" }, to = "file", filename = "x.log" },
//	        { levels = { "error" }, to = "console" }, "*console" }
//
// Lines have Prosody's format (see prosodyHandler): files start them with
// Prosody's timestamp ("Dec 01 23:39:33 "), the console pads the source to
// 20 columns and has none; a rule's timestamps (true, false or an os.date
// format) and source_width change that, as in Prosody. The global
// log_format = "json" (or "logfmt") option, or a rule's format field, writes
// slog's JSON (or key=value text) instead.
//
// "console" and "stdout" sinks write to stderr (modhost keeps stdout
// quiet); "*syslog" and to = "syslog" go to the console too, with a warning.
// Files are opened for appending, relative to the config's folder. Without
// a log option, info and up (debug up with debug = true) go to stderr. The
// Closer closes the files opened.
func (c *Config) Logger(stderr io.Writer) (*slog.Logger, io.Closer, error) {
	value := c.Global.Options["log"]
	debug, _ := c.Global.Options["debug"].(bool)
	format, err := formatOption(c.Global.Options["log_format"], "log_format")
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.Path, err)
	}
	rules, warnings, err := logRules(value, debug)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: log option: %w", c.Path, err)
	}
	files := openFiles{}
	console := &destination{w: stderr}
	var sinks []sink
	for _, r := range rules {
		out := console
		if r.to == "file" {
			path := r.filename
			if !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(c.Path), path)
			}
			f, err := files.open(path)
			if err != nil {
				files.Close()
				return nil, nil, fmt.Errorf("%s: log option: %w", c.Path, err)
			}
			out = f
		}
		if r.format == "" {
			r.format = format
		}
		sinks = append(sinks, sink{levels: r.levels, handler: sinkHandler(out, r)})
	}
	logger := slog.New(&fanout{sinks: sinks})
	for _, w := range warnings {
		logger.Warn(w, "source", "config")
	}
	return logger, files, nil
}

// formatOption reads log_format, or a sink rule's format field.
func formatOption(v any, what string) (string, error) {
	switch v {
	case nil, FormatProsody:
		return FormatProsody, nil
	case FormatJSON, FormatLogfmt:
		return v.(string), nil
	}
	return "", fmt.Errorf("%s = %s: want %q (the default), %q or %q", what, luaQuote(v), FormatProsody, FormatJSON, FormatLogfmt)
}

// luaQuote shows an option value as the config wrote it.
func luaQuote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// logRules reads the log option into sink rules, as loggingmanager does:
// first the level keys (debug, info, warn, error) of a table, then its list
// entries in order.
func logRules(value any, debug bool) (rules []sinkRule, warnings []string, err error) {
	defaultMin := 1
	if debug {
		defaultMin = 0
	}
	star := func(name string, levels levelSet) {
		switch name {
		case "console", "stdout":
			rules = append(rules, consoleRule(levels))
		case "syslog":
			warnings = append(warnings, "log: modhost has no syslog sink; logging to the console instead")
			rules = append(rules, consoleRule(levels))
		case "nowhere":
		default:
			warnings = append(warnings, fmt.Sprintf("log: unknown sink *%s ignored", name))
		}
	}
	switch v := value.(type) {
	case nil:
		return []sinkRule{consoleRule(from(defaultMin))}, nil, nil
	case string:
		if name, ok := strings.CutPrefix(v, "*"); ok {
			star(name, from(0))
		} else {
			rules = append(rules, fileRule(v, from(defaultMin)))
		}
		return rules, warnings, nil
	case map[string]any, []any:
		for i, level := range levelNames() {
			target, ok := field(v, level).(string)
			if !ok {
				continue
			}
			if name, ok := strings.CutPrefix(target, "*"); ok {
				star(name, from(i))
			} else {
				rules = append(rules, fileRule(target, from(i)))
			}
		}
		for i, entry := range list(v) {
			switch e := entry.(type) {
			case string:
				if name, ok := strings.CutPrefix(e, "*"); ok {
					star(name, from(0))
				}
			case map[string]any:
				r, warning, err := sinkRuleOf(e)
				if err != nil {
					return nil, nil, fmt.Errorf("entry %d: %w", i+1, err)
				}
				if warning != "" {
					warnings = append(warnings, warning)
				}
				if r != nil {
					rules = append(rules, *r)
				}
			}
		}
		return rules, warnings, nil
	}
	return nil, nil, fmt.Errorf("expected a string or a table, got %T", value)
}

// sinkRuleOf reads { to = …, levels = …, filename = …, timestamps = …,
// source_width = …, format = … }.
func sinkRuleOf(e map[string]any) (*sinkRule, string, error) {
	levels, err := levelsOf(e["levels"])
	if err != nil {
		return nil, "", err
	}
	var r sinkRule
	warning := ""
	switch to, _ := e["to"].(string); to {
	case "console", "stdout":
		r = consoleRule(levels)
	case "file":
		filename, _ := e["filename"].(string)
		if filename == "" {
			return nil, "", errors.New(`to = "file" needs a filename`)
		}
		r = fileRule(filename, levels)
	case "syslog":
		r = consoleRule(levels)
		warning = "log: modhost has no syslog sink; logging to the console instead"
	case "nowhere":
		return nil, "", nil
	default:
		// Prosody ignores sink types nobody registered (a module may add one).
		return nil, fmt.Sprintf("log: sink type %q ignored", to), nil
	}
	// As Prosody's file sink reads them: true (or nothing, for files) is
	// the default timestamp, false none, a string an os.date format.
	switch ts := e["timestamps"].(type) {
	case bool:
		r.timestamps = ""
		if ts {
			r.timestamps = defaultTimestamp
		}
	case string:
		r.timestamps = ts + " "
	}
	switch w := e["source_width"].(type) {
	case float64:
		r.sourceWidth = max(int(w), 0)
	case bool:
		if !w {
			r.sourceWidth = -1
		}
	}
	if f, ok := e["format"]; ok {
		if r.format, err = formatOption(f, "format"); err != nil {
			return nil, "", err
		}
	}
	return &r, warning, nil
}

// levelsOf reads a levels criterion: nil (all), a level name, a list of
// names, and/or { min = …, max = … }. Like Prosody, a max without a min
// selects only the max level.
func levelsOf(v any) (levelSet, error) {
	var s levelSet
	if v == nil {
		return from(0), nil
	}
	if name, ok := v.(string); ok {
		i, ok := levelIndex(name)
		if !ok {
			return s, fmt.Errorf("unknown log level %q", name)
		}
		s[i] = true
		return s, nil
	}
	minName, _ := field(v, "min").(string)
	maxName, _ := field(v, "max").(string)
	if minName != "" || maxName != "" {
		inRange := false
		for i, name := range levelNames() {
			if name == minName {
				s[i], inRange = true, true
			} else if name == maxName {
				s[i] = true
				break
			} else if inRange {
				s[i] = true
			}
		}
	}
	for _, e := range list(v) {
		name, _ := e.(string)
		i, ok := levelIndex(name)
		if !ok {
			return s, fmt.Errorf("unknown log level %v", e)
		}
		s[i] = true
	}
	return s, nil
}

// field reads key of a table converted by lua.ToGo.
func field(v any, key string) any {
	if m, ok := v.(map[string]any); ok {
		return m[key]
	}
	return nil
}

// list returns the entries at 1, 2, … of a table converted by lua.ToGo: a
// sequence, or the "1", "2", … keys of a table that also has names.
func list(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case map[string]any:
		var out []any
		for i := 1; ; i++ {
			e, ok := v[strconv.Itoa(i)]
			if !ok {
				return out
			}
			out = append(out, e)
		}
	}
	return nil
}

// sink is one destination and the levels it receives.
type sink struct {
	levels  levelSet
	handler slog.Handler
}

// fanout sends each record to every sink whose levels include it.
type fanout struct{ sinks []sink }

func (f *fanout) Enabled(ctx context.Context, l slog.Level) bool {
	i := slogIndex(l)
	for _, s := range f.sinks {
		if s.levels[i] {
			return true
		}
	}
	return false
}

func (f *fanout) Handle(ctx context.Context, r slog.Record) error {
	i := slogIndex(r.Level)
	var errs []error
	for _, s := range f.sinks {
		if s.levels[i] {
			errs = append(errs, s.handler.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f *fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	return f.each(func(h slog.Handler) slog.Handler { return h.WithAttrs(attrs) })
}

func (f *fanout) WithGroup(name string) slog.Handler {
	return f.each(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (f *fanout) each(fn func(slog.Handler) slog.Handler) slog.Handler {
	out := &fanout{sinks: make([]sink, len(f.sinks))}
	for i, s := range f.sinks {
		out.sinks[i] = sink{levels: s.levels, handler: fn(s.handler)}
	}
	return out
}

// openFiles opens each log file once, however many rules name it.
type openFiles map[string]*destination

func (o openFiles) open(path string) (*destination, error) {
	if d := o[path]; d != nil {
		return d, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	o[path] = &destination{w: f}
	return o[path], nil
}

func (o openFiles) Close() error {
	paths := make([]string, 0, len(o))
	for p := range o {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var errs []error
	for _, p := range paths {
		errs = append(errs, o[p].w.(*os.File).Close())
		delete(o, p)
	}
	return errors.Join(errs...)
}
