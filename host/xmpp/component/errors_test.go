package component

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestStreamErrorKinds(t *testing.T) {
	tests := []struct {
		err       *StreamError
		permanent bool
		says      string
	}{
		{ErrNotAuthorized, true, "does not match Prosody's component_secret"},
		{ErrHostUnknown, true, "no Component section"},
		{ErrConflict, false, "already authenticated"},
		{ErrSystemShutdown, false, "shutting down"},
		{ErrPolicyViolation, false, "policy"},
		{&StreamError{Condition: "made-up"}, false, "made-up"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Condition, func(t *testing.T) {
			wrapped := fmt.Errorf("handshake: %w", &StreamError{Condition: tt.err.Condition, Text: "details"})
			if !errors.Is(wrapped, tt.err) {
				t.Error("errors.Is does not match by condition")
			}
			if IsPermanent(wrapped) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", IsPermanent(wrapped), tt.permanent)
			}
			if msg := wrapped.Error(); !strings.Contains(msg, tt.says) || !strings.Contains(msg, "details") {
				t.Errorf("message %q lacks %q or the server's text", msg, tt.says)
			}
		})
	}
	if errors.Is(ErrConflict, ErrNotAuthorized) {
		t.Error("different conditions match")
	}
	if IsPermanent(errors.New("connection refused")) || IsPermanent(nil) {
		t.Error("a plain error counted as permanent")
	}
}

func TestParseStreamError(t *testing.T) {
	e := parseOne(t, `<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no such host</text><extra xmlns='urn:x'/></stream:error>`)
	got := parseStreamError(e)
	if got.Condition != "host-unknown" || got.Text != "no such host" || got.Sent {
		t.Errorf("parseStreamError = %+v", got)
	}
	if got := parseStreamError(parseOne(t, `<stream:error/>`)); got.Condition != "undefined-condition" {
		t.Errorf("empty stream error = %+v", got)
	}
}
