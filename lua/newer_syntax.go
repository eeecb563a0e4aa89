package lua

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// NewerSyntaxError is a syntax error at a construct that Lua 5.3 or 5.4
// added and gopher-lua's Lua 5.1 parser does not know: the operators //, &,
// |, ~, << and >>, and the local attributes <const> and <close>. The parser
// itself only says "syntax error near '<'"; this names the construct, where
// it is and what to write instead. Compile recognises these errors (it has
// the source to look at), so every path that loads Lua — plugins, libraries,
// the config file, load, dofile, require — reports them the same way.
type NewerSyntaxError struct {
	Construct string // e.g. "Lua 5.3 operator // (floor division)"
	Instead   string // e.g. "math.floor(a / b)"
	File      string // the chunk name, without a leading "@"
	Line      int
	Err       *parse.Error // what the parser reported
}

// Message is the error without its position: construct and alternative.
func (e *NewerSyntaxError) Message() string {
	return fmt.Sprintf("%s is not supported by modhost's Lua 5.1 VM; instead write %s", e.Construct, e.Instead)
}

func (e *NewerSyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message())
}

func (e *NewerSyntaxError) Unwrap() error { return e.Err }

// SyntaxHint returns the *NewerSyntaxError inside err (a syntax error from
// Load or Compile at a Lua 5.3/5.4 construct), or err unchanged.
func SyntaxHint(err error) error {
	var hint *NewerSyntaxError
	if ae, ok := err.(*glua.ApiError); ok { // ApiError keeps its cause without Unwrap
		hint, _ = ae.Cause.(*NewerSyntaxError)
	} else {
		errors.As(err, &hint)
	}
	if hint == nil {
		return err
	}
	return hint
}

// bitcompatNote follows the bit32 alternatives: bit32 is there in modhost
// (and Lua 5.2), util.bitcompat wherever Prosody runs.
const bitcompatNote = ` (or require "util.bitcompat"'s function of that name, which Prosody has on every Lua)`

var attribute = regexp.MustCompile(`^<\s*(const|close)\s*>`)

// newerSyntax looks at the place in src where the parser stopped (perr) and
// names the Lua 5.3/5.4 construct there, or returns nil when it is not one.
// gopher-lua stops at the token it cannot use: the second character of //,
// << and >>, the & | ~ themselves, the < that opens an attribute. Columns
// count bytes from 1, as its scanner does.
func newerSyntax(perr *parse.Error, src, chunkname string) *NewerSyntaxError {
	if perr.Pos.Line < 1 || len(perr.Token) != 1 {
		return nil
	}
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(src, "\n")
	if perr.Pos.Line > len(lines) {
		return nil
	}
	line, col := lines[perr.Pos.Line-1], perr.Pos.Column
	if col < 1 || col > len(line) || line[col-1] != perr.Token[0] {
		return nil
	}
	before, rest := line[:col-1], line[col-1:]
	prev := byte(0)
	if col >= 2 {
		prev = line[col-2]
	}
	hint := func(construct, instead string) *NewerSyntaxError {
		return &NewerSyntaxError{Construct: construct, Instead: instead, File: strings.TrimPrefix(chunkname, "@"), Line: perr.Pos.Line, Err: perr}
	}
	switch perr.Token {
	case "/":
		// "// text" at the start of a line is a comment written in another
		// language, not a division.
		if prev == '/' && strings.TrimSpace(before[:len(before)-1]) != "" {
			return hint("Lua 5.3 operator // (floor division)", "math.floor(a / b)")
		}
	case "&":
		return hint("Lua 5.3 operator & (bitwise and)", "bit32.band(a, b)"+bitcompatNote)
	case "|":
		return hint("Lua 5.3 operator | (bitwise or)", "bit32.bor(a, b)"+bitcompatNote)
	case "~":
		if endsOperand(before) {
			return hint("Lua 5.3 operator ~ (bitwise exclusive or)", "bit32.bxor(a, b)"+bitcompatNote)
		}
		return hint("Lua 5.3 unary operator ~ (bitwise not)", "bit32.bnot(a)")
	case "<":
		if prev == '<' {
			return hint("Lua 5.3 operator << (shift left)", "bit32.lshift(a, n)"+bitcompatNote)
		}
		if m := attribute.FindStringSubmatch(rest); m != nil {
			if m[1] == "const" {
				return hint("Lua 5.4 attribute <const>", "a plain local (local x = ...)")
			}
			return hint("Lua 5.4 attribute <close>", "a plain local and close the value yourself when done with it")
		}
	case ">":
		if prev == '>' {
			return hint("Lua 5.3 operator >> (shift right)", "bit32.rshift(a, n)"+bitcompatNote)
		}
	}
	return nil
}

var lastWord = regexp.MustCompile(`[A-Za-z0-9_]+$`)

// endsOperand says whether text ends with something a binary operator may
// follow: a name, a number, a string or a closing bracket, not a keyword
// such as return or and (after which ~ is the unary operator).
func endsOperand(text string) bool {
	text = strings.TrimRight(text, " \t")
	if text == "" {
		return false
	}
	if strings.ContainsAny(text[len(text)-1:], ")]}\"'") {
		return true
	}
	word := lastWord.FindString(text)
	switch word {
	case "", "and", "or", "not", "return", "then", "do", "else", "elseif", "until", "in", "local":
		return false
	}
	return true
}
