package config

import "github.com/modhost/modhost/compat"

// nameprep prepares a host name as Prosody's configmanager does, with
// util.encodings.stringprep.nameprep: RFC 3491 (case folding with table B.2,
// so "ß" becomes "ss"; NFKC; the prohibited characters refused). It is the
// nameprep modhost gives plugins (compat), which its specs check against
// Prosody's own ICU-backed one.
func nameprep(name string) (string, bool) {
	return compat.Nameprep(name)
}
