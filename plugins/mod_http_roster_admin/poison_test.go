package rosteradmin_test

import (
	"bytes"
	"testing"
)

// A contact JID that preps (Prosody's nameprep keeps ASCII control
// characters in domains) but cannot go into a stanza attribute must fail
// that one fetch, not poison the roster so that every later refresh fails
// while pushing its removal. Found by FuzzBackendRoster.
func TestUnstanzableContactJIDDoesNotPoisonTheRoster(t *testing.T) {
	e := fuzzRuntime(t)
	refresh := []byte(`["` + fuzzUser + `"]`)
	for i, answer := range []string{baselineRoster, "{\"a@b\\u0001\":{}}", baselineRoster} {
		e.backend.answer(fuzzUser, []byte(answer))
		code, reply, _ := e.post(t, refresh)
		wantUpdated := i != 1
		if code != 200 || bytes.Contains(reply, []byte(`"updated":1`)) != wantUpdated {
			t.Fatalf("refresh %d (%q): %d %s", i, answer, code, reply)
		}
	}
}
