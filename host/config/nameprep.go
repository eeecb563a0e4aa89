package config

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// nameprep approximates the stringprep nameprep profile (RFC 3491) Prosody
// applies to host names: it lower-cases and refuses invalid UTF-8 and the
// characters the profile prohibits (non-ASCII controls, private use,
// surrogates, non-characters, bidi and tagging controls, line and paragraph
// separators). Unlike ICU it does not NFKC-normalise or case-fold beyond
// simple lower-casing; host names in configs are ASCII in practice.
func nameprep(name string) (string, bool) {
	if !utf8.ValidString(name) {
		return "", false
	}
	for _, r := range name {
		if prohibited(r) {
			return "", false
		}
	}
	return strings.ToLower(name), true
}

func prohibited(r rune) bool {
	switch {
	case r < 0x80:
		return false
	case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return true
	case r == 0x2028, r == 0x2029, r == 0x200E, r == 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x206A && r <= 0x206F:
		return true
	case r >= 0xFFF9 && r <= 0xFFFD, r >= 0x2FF0 && r <= 0x2FFB, r == 0xE0001, r >= 0xE0020 && r <= 0xE007F:
		return true
	}
	return false
}
