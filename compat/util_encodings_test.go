package compat

import (
	"strings"
	"testing"
)

// These pin where Prosody's ICU-based stringprep differs from applying RFC
// 3454 with today's Unicode data; each case was checked against Prosody's
// util/encodings.so (a scan of every code point after "a", and between two
// Hebrew letters, agrees for all four profiles).
func TestStringprepFollowsICU(t *testing.T) {
	tests := []struct {
		name    string
		profile stringprepProfile
		in      string
		strict  bool
		want    string
		ok      bool
	}{
		{"later characters are not normalized", nodeprepProfile, "a\u1D2C", false, "a\u1D2C", true},
		{"later characters fail in strict mode even if normalization would hide them", nodeprepProfile, "a\u1D2C", true, "", false},
		{"unassigned in a right-to-left block counts as right-to-left", nameprepProfile, "a\u0590", false, "", false},
		{"U+1806 maps to nothing (missing from xdg-go's B.1)", resourceprepProfile, "a\u1806", false, "a", true},
		{"corrigendum 4 ideographs keep their 3.2 decomposition", nodeprepProfile, "\U0002F95F", false, "\u7AAE", true},
		{"SASLprep maps zero width space to a space", saslprepProfile, "a\u200Bb", false, "a b", true},
		{"nodeprep maps zero width space to nothing", nodeprepProfile, "a\u200Bb", false, "ab", true},
		{"nodeprep prohibits the JID delimiters", nodeprepProfile, "a@b", false, "", false},
		{"nameprep allows ASCII controls", nameprepProfile, "a\x00b", false, "a\x00b", true},
		{"resourceprep keeps case", resourceprepProfile, "ABC", false, "ABC", true},
		{"output of 1024 bytes fails", nodeprepProfile, strings.Repeat("\u33C6", 340), false, "", false},
		{"output under 1024 bytes passes", nodeprepProfile, strings.Repeat("\u33C6", 170), false, strings.Repeat("c\u2215kg", 170), true},
		{"invalid UTF-8 fails", nameprepProfile, "\xff", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.profile.prepare(tt.in, tt.strict)
			if ok != tt.ok || got != tt.want {
				t.Errorf("prepare(%q, %v) = %q, %v; want %q, %v", tt.in, tt.strict, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestBase64DecodeIsLenientLikeProsody(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"aGVsbG8=", "hello", true},
		{"aGV sbG8=\n", "hello", true},
		{"aGVsbG8", "hel", true},
		{"aGVsbG8=aGVs", "hellohel", true},
		{"aGVs\x00bG8=", "hel", true},
		{"AA==AA==", "\x00\x00", true},
		{"!!!", "", false},
		{"", "", true},
	}
	for _, tt := range tests {
		got, ok := base64Decode(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("base64Decode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Checked against Prosody's encodings.so over "a" + every code point up to
// U+2FFFF + ".com".
func TestIDNAFollowsICU(t *testing.T) {
	tests := []struct {
		name, in string
		conv     func(string) (string, error)
		want     string
		ok       bool
	}{
		{"no bidi rule: mixed-direction labels pass", "a\u05D0.com", idnaToASCII.ToASCII, "xn--a-0hc.com", true},
		{"an ideographic full stop that makes an empty label fails", "a\u3002.com", idnaToUnicode, "", false},
		{"transitional mapping in to_unicode", "\u00DF.de", idnaToUnicode, "ss.de", true},
		{"a trailing root dot is kept", "a.b.", idnaToASCII.ToASCII, "a.b.", true},
		{"STD3 rules reject underscores", "a_b.com", idnaToASCII.ToASCII, "", false},
		{"to_ascii checks label length", strings.Repeat("a", 64) + ".com", idnaToASCII.ToASCII, "", false},
		{"to_unicode does not", strings.Repeat("a", 64) + ".com", idnaToUnicode, strings.Repeat("a", 64) + ".com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := idnaConvert(tt.conv, tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("idnaConvert(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
