package config

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The log line formats. "prosody" is the default: what Prosody's file and
// console sinks write, so that tail, grep and the tools pointed at Prosody's
// logs read modhost's. "json" is slog's JSON, one object a line, for log
// shippers; "logfmt" is slog's key=value text.
const (
	FormatProsody = "prosody"
	FormatJSON    = "json"
	FormatLogfmt  = "logfmt"
)

// defaultTimestamp is Prosody's timestamp for files, os.date's
// "%b %d %H:%M:%S " (Dec 01 23:39:33).
const defaultTimestamp = "%b %d %H:%M:%S "

// consoleSourceWidth is the column Prosody's console pads the source to.
const consoleSourceWidth = 20

// destination is one place log lines go (stderr, or one file), shared by
// every sink and handler writing there so that their lines never mix.
type destination struct {
	mu sync.Mutex
	w  io.Writer
}

func (d *destination) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.w.Write(p)
}

// prosodyHandler writes records as Prosody's sinks write log lines:
//
//	[TIMESTAMP ]SOURCE<tab>LEVEL<tab>MESSAGE[ key=value …]
//
// The message is written as it is (no quoting or escaping: a traceback
// keeps its lines, as in Prosody). With a source width (the console's), the
// source is padded with spaces to a column that only grows, instead of
// followed by a tab. SOURCE is the record's "source" attribute; without
// one, "host:module" from its host and module attributes, else its host,
// else "general" (Prosody's global logger). Other attributes follow the
// message as key=value, the value quoted only when it holds spaces, quotes
// or '='.
type prosodyHandler struct {
	out        *destination
	timestamps string // strftime format starting each line; "" for none
	width      *sourceWidth
	level      slog.Leveler
	attrs      []slog.Attr // from WithAttrs, keys qualified by their groups
	group      string      // open groups, "a.b." or ""
}

// sourceWidth is the console's source column, shared by a sink's handlers.
type sourceWidth struct {
	mu sync.Mutex
	n  int
}

func newProsodyHandler(out *destination, timestamps string, width int) *prosodyHandler {
	h := &prosodyHandler{out: out, timestamps: timestamps, level: slog.LevelDebug - 4}
	if width >= 0 {
		h.width = &sourceWidth{n: width}
	}
	return h
}

func (h *prosodyHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *prosodyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := *h
	out.attrs = append(append([]slog.Attr(nil), h.attrs...), qualify(h.group, attrs)...)
	return &out
}

func (h *prosodyHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	out := *h
	out.group = h.group + name + "."
	return &out
}

// qualify prefixes the keys of attrs with the open groups.
func qualify(group string, attrs []slog.Attr) []slog.Attr {
	if group == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: group + a.Key, Value: a.Value}
	}
	return out
}

func (h *prosodyHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, qualify(h.group, []slog.Attr{a})...)
		return true
	})
	var source, host, module string
	var rest []slog.Attr
	for _, a := range attrs {
		a.Value = a.Value.Resolve()
		switch a.Key {
		case "source":
			source = a.Value.String()
			continue
		case "host":
			host = a.Value.String()
		case "module":
			module = a.Value.String()
		}
		rest = append(rest, a)
	}
	if source == "" {
		switch {
		case host != "" && module != "":
			source = host + ":" + module
			rest = without(rest, "host", "module")
		case host != "":
			source = host
			rest = without(rest, "host")
		default:
			source = "general"
		}
	}
	var b strings.Builder
	if h.timestamps != "" {
		t := r.Time
		if t.IsZero() {
			t = time.Now()
		}
		b.WriteString(strftime(h.timestamps, t))
	}
	b.WriteString(source)
	if h.width != nil {
		h.width.mu.Lock()
		h.width.n = max(h.width.n, len(source)+2)
		b.WriteString(strings.Repeat(" ", h.width.n-len(source)))
		h.width.mu.Unlock()
	} else {
		b.WriteByte('\t')
	}
	b.WriteString(levelNames()[slogIndex(r.Level)])
	b.WriteByte('\t')
	b.WriteString(r.Message)
	for _, a := range rest {
		appendAttr(&b, a.Key, a.Value)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(h.out, b.String())
	return err
}

// without drops the attributes named keys.
func without(attrs []slog.Attr, keys ...string) []slog.Attr {
	out := attrs[:0:0]
	for _, a := range attrs {
		drop := false
		for _, k := range keys {
			drop = drop || a.Key == k
		}
		if !drop {
			out = append(out, a)
		}
	}
	return out
}

// appendAttr writes " key=value", a group as its members "key.member=…".
func appendAttr(b *strings.Builder, key string, v slog.Value) {
	v = v.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, a := range v.Group() {
			k := a.Key
			if key != "" {
				k = key + "." + k
			}
			appendAttr(b, k, a.Value)
		}
		return
	}
	if key == "" {
		return
	}
	var s string
	switch v.Kind() {
	case slog.KindTime:
		s = v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			s = err.Error()
		} else {
			s = fmt.Sprint(v.Any())
		}
	default:
		s = v.String()
	}
	if s == "" || strings.ContainsAny(s, " \t\r\n\"=") {
		s = strconv.Quote(s)
	}
	b.WriteString(" " + key + "=" + s)
}

// strftime formats t with the os.date (C strftime) directives Prosody's
// timestamps use; others are written as they are.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'c':
			b.WriteString(t.Format("Mon Jan  2 15:04:05 2006"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'e':
			b.WriteString(t.Format("_2"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'I':
			b.WriteString(t.Format("03"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'm':
			b.WriteString(t.Format("01"))
		case 'M':
			b.WriteString(t.Format("04"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'S':
			b.WriteString(t.Format("05"))
		case 'T', 'X':
			b.WriteString(t.Format("15:04:05"))
		case 'x':
			b.WriteString(t.Format("01/02/06"))
		case 'y':
			b.WriteString(t.Format("06"))
		case 'Y':
			b.WriteString(t.Format("2006"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// sinkHandler builds the handler of one sink rule writing to out.
func sinkHandler(out *destination, r sinkRule) slog.Handler {
	all := slog.LevelDebug - 4 // the fan-out filters
	switch r.format {
	case FormatJSON:
		// Shippers want the time whatever the sink's timestamps say, and
		// Prosody's level names.
		return slog.NewJSONHandler(out, &slog.HandlerOptions{Level: all, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok {
					return slog.String(slog.LevelKey, levelNames()[slogIndex(l)])
				}
			}
			return a
		}})
	case FormatLogfmt:
		opts := &slog.HandlerOptions{Level: all}
		if r.timestamps == "" {
			opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}
		}
		return slog.NewTextHandler(out, opts)
	}
	return newProsodyHandler(out, r.timestamps, r.sourceWidth)
}

// ConsoleHandler writes records at level and up to w in the line format of
// Prosody's console sink (source column, level, message; no timestamps),
// for commands that log before or without a config's log option.
func ConsoleHandler(w io.Writer, level slog.Leveler) slog.Handler {
	h := newProsodyHandler(&destination{w: w}, "", consoleSourceWidth)
	h.level = level
	return h
}
