package host

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

// inWords turns the error a module failed with into one line that says
// what was missing, in words, after the file:line it happened at, for
// check's BROKEN entries: gopher-lua's messages name neither the library a
// require did not find in terms an operator can act on nor the expression
// that was nil. The traceback and the loader's search list are dropped
// (they are in the log). source reads a module's file (nil if it cannot),
// to name the nil expression from the line.
func inWords(msg string, source func(path string) []byte) string {
	msg, _, _ = strings.Cut(msg, "\nstack traceback:")
	where, text := splitPosition(msg)
	if m := dependencyFailed.FindStringSubmatch(text); m != nil {
		text = m[1] + inWords(strings.TrimPrefix(text, m[1]), source)
		return join(where, text)
	}
	switch {
	case requireFailed.MatchString(text):
		lib := requireFailed.FindStringSubmatch(text)[1]
		text = "require \"" + lib + "\": " + libraryKind(lib) + " " + lib + " is not available in modhost"
		if c := cLibraries[lib]; c != "" {
			text += " (" + c + ")"
		}
	case indexedNil.MatchString(text):
		m := indexedNil.FindStringSubmatch(text)
		kind, key := m[1], m[2]
		expr := nilExpression(where, key, source)
		what := "a " + kind + " value"
		if kind == "nil" {
			what = "nil"
		}
		if expr != "" {
			text = "`" + expr + "` is " + what + ", so `" + expr + "." + key + "` cannot be read"
		} else {
			text = "a " + kind + " value was indexed with key '" + key + "'"
		}
	case text == "attempt to call a non-function object":
		if expr := calledExpression(where, source); expr != "" {
			text = "`" + expr + "` is not a function (nil, often: something modhost does not provide), so it cannot be called"
		} else {
			text = "a value that is not a function (nil, often: something modhost does not provide) was called"
		}
	}
	first, _, _ := strings.Cut(text, "\n")
	return join(where, strings.TrimRight(first, ": \t"))
}

func join(where, text string) string {
	if where == "" {
		return text
	}
	return where + ": " + text
}

var (
	// module:depends' error, around the dependency's own.
	dependencyFailed = regexp.MustCompile(`^(Unable to load required module, mod_[^:]+: )`)
	// gopher-lua's require: "module util.sasl not found:\n\tno field …".
	requireFailed = regexp.MustCompile(`^module ([^\s]+) not found:`)
	// gopher-lua's index error: "attempt to index a non-table object(nil)
	// with key 'load'".
	indexedNil = regexp.MustCompile(`^attempt to index a non-table object\((\w+)\) with key '([^']*)'`)
	// file:line: at the start of a Lua error.
	position = regexp.MustCompile(`^((?:bundled:)?[^\s:]+\.lua):(\d+): `)
)

// splitPosition splits "file.lua:12: text" into "file.lua:12" and "text".
func splitPosition(msg string) (where, text string) {
	m := position.FindStringSubmatchIndex(msg)
	if m == nil {
		return "", msg
	}
	return msg[:m[1]-2], msg[m[1]:]
}

// cLibraries are the libraries whose work is a C library's, that modhost
// does not provide, each with what it needs: the modules that stop on them
// need that C library (or the XMPP server), not a fix in modhost.
var cLibraries = map[string]string{
	"socket":    "LuaSocket's C core, which modhost does not provide",
	"util.sql":  "it needs LuaDBI, a C library",
	"DBI":       "LuaDBI, a C library",
	"lualdap":   "a C library",
	"cyrussasl": "a C library",
	"ssl.x509":  "LuaSec's C part",
	"bit":       "LuaBitOp, a C library for Lua 5.1",
}

// libraryKind says whose library lib is, for "… is not available".
func libraryKind(lib string) string {
	for _, p := range []string{"util.", "core.", "net.", "prosody."} {
		if strings.HasPrefix(lib, p) {
			return "Prosody's library"
		}
	}
	return "the Lua library"
}

// sourceLine is line where ("file.lua:12") of its file, or nil.
func sourceLine(where string, source func(string) []byte) []byte {
	file, lineText, ok := strings.Cut(where, ":")
	if !ok || source == nil {
		return nil
	}
	n, err := strconv.Atoi(lineText)
	if err != nil || n < 1 {
		return nil
	}
	src := source(file)
	if src == nil {
		return nil
	}
	lines := bytes.Split(src, []byte("\n"))
	if n > len(lines) {
		return nil
	}
	return lines[n-1]
}

var (
	callSite     = regexp.MustCompile(`([A-Za-z_]\w*(?:\s*[.:]\s*[A-Za-z_]\w*)*)\s*\(`)
	notCallables = map[string]bool{"function": true, "if": true, "elseif": true, "while": true, "until": true,
		"return": true, "and": true, "or": true, "not": true, "local": true, "in": true}
)

// calledExpression names what was called on the line at where when the
// line calls exactly one thing: "serve" in `route = serve({ … })`.
func calledExpression(where string, source func(string) []byte) string {
	line := sourceLine(where, source)
	if line == nil {
		return ""
	}
	var calls []string
	for _, m := range callSite.FindAllSubmatch(line, -1) {
		if name := string(m[1]); !notCallables[name] {
			calls = append(calls, strings.Join(strings.Fields(name), ""))
		}
	}
	if len(calls) != 1 {
		return ""
	}
	return calls[0]
}

// nilExpression finds, on the source line at where ("file.lua:12"), the
// expression indexed with key: in `local x = datamanager.load`, for key
// "load", "datamanager".
func nilExpression(where, key string, source func(string) []byte) string {
	line := sourceLine(where, source)
	if line == nil {
		return ""
	}
	re, err := regexp.Compile(`([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*[.:]\s*` + regexp.QuoteMeta(key) + `\b`)
	if err != nil {
		return ""
	}
	m := re.FindSubmatch(line)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(string(m[1])), "")
}
