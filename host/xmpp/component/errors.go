package component

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/modhost/modhost/host/xmpp"
)

// StreamError is an RFC 6120 §4.9 stream error: one the server sent before
// closing the stream, or one this side sent (Sent) before closing it.
//
// Compare with errors.Is against the Err* values: errors.Is(err,
// ErrNotAuthorized) holds for any StreamError with that condition.
type StreamError struct {
	Condition string // the defined condition's element name, e.g. "conflict"
	Text      string // the optional human-readable text
	Sent      bool   // true when this side raised it (e.g. a stanza over the size limit)
}

// Stream error conditions (RFC 6120 §4.9.3), for errors.Is.
var (
	ErrBadFormat              = &StreamError{Condition: "bad-format"}
	ErrBadNamespacePrefix     = &StreamError{Condition: "bad-namespace-prefix"}
	ErrConflict               = &StreamError{Condition: "conflict"}
	ErrConnectionTimeout      = &StreamError{Condition: "connection-timeout"}
	ErrHostGone               = &StreamError{Condition: "host-gone"}
	ErrHostUnknown            = &StreamError{Condition: "host-unknown"}
	ErrImproperAddressing     = &StreamError{Condition: "improper-addressing"}
	ErrInternalServerError    = &StreamError{Condition: "internal-server-error"}
	ErrInvalidFrom            = &StreamError{Condition: "invalid-from"}
	ErrInvalidNamespace       = &StreamError{Condition: "invalid-namespace"}
	ErrInvalidXML             = &StreamError{Condition: "invalid-xml"}
	ErrNotAuthorized          = &StreamError{Condition: "not-authorized"}
	ErrNotWellFormed          = &StreamError{Condition: "not-well-formed"}
	ErrPolicyViolation        = &StreamError{Condition: "policy-violation"}
	ErrRemoteConnectionFailed = &StreamError{Condition: "remote-connection-failed"}
	ErrReset                  = &StreamError{Condition: "reset"}
	ErrResourceConstraint     = &StreamError{Condition: "resource-constraint"}
	ErrRestrictedXML          = &StreamError{Condition: "restricted-xml"}
	ErrSeeOtherHost           = &StreamError{Condition: "see-other-host"}
	ErrSystemShutdown         = &StreamError{Condition: "system-shutdown"}
	ErrUndefinedCondition     = &StreamError{Condition: "undefined-condition"}
	ErrUnsupportedEncoding    = &StreamError{Condition: "unsupported-encoding"}
	ErrUnsupportedFeature     = &StreamError{Condition: "unsupported-feature"}
	ErrUnsupportedStanzaType  = &StreamError{Condition: "unsupported-stanza-type"}
	ErrUnsupportedVersion     = &StreamError{Condition: "unsupported-version"}
)

// conditionInfo says, per condition, what it means for a component and
// whether connecting again with the same configuration can succeed.
var conditionInfo = map[string]struct {
	permanent bool
	meaning   string
}{
	"not-authorized":      {true, "the server refused the handshake: the secret does not match Prosody's component_secret (ejabberd: the ejabberd_service listener's hosts: JID: password)"},
	"host-unknown":        {true, "the server has no Component section for this JID (ejabberd: no entry in the ejabberd_service listener's hosts)"},
	"host-gone":           {true, "the server no longer serves this component JID"},
	"improper-addressing": {true, "the stream header lacked a valid to address"},
	"unsupported-version": {true, "the server does not accept this stream version"},
	"invalid-namespace":   {true, "the stream used a namespace the server does not accept"},
	// A conflict is not permanent: after our own connection drops, the server
	// may keep the half-open old session for a while and refuse the new one
	// until it notices; retrying with backoff resolves that. A second modhost
	// under the same name keeps failing, and says so in the log each time.
	"conflict":                 {false, "another connection is already authenticated as this component"},
	"invalid-from":             {false, "a stanza we sent had a from address the server does not allow"},
	"policy-violation":         {false, "a stanza broke a local policy (e.g. its size)"},
	"system-shutdown":          {false, "the server is shutting down"},
	"connection-timeout":       {false, "the server timed the stream out"},
	"reset":                    {false, "the server reset the stream"},
	"internal-server-error":    {false, "the server hit an internal error"},
	"resource-constraint":      {false, "the server lacks resources for the stream"},
	"remote-connection-failed": {false, "the server could not reach a remote entity"},
	"see-other-host":           {false, "the server redirects to another host"},
	"bad-format":               {false, "XML that could not be processed was sent"},
	"bad-namespace-prefix":     {false, "an unsupported namespace prefix was sent"},
	"invalid-xml":              {false, "invalid XML was sent"},
	"not-well-formed":          {false, "XML that is not well-formed was sent"},
	"restricted-xml":           {false, "restricted XML (comments, DTDs, processing instructions) was sent"},
	"unsupported-encoding":     {false, "an unsupported encoding was used"},
	"unsupported-feature":      {false, "a required stream feature is missing"},
	"unsupported-stanza-type":  {false, "a top-level element of an unknown kind was sent"},
	"undefined-condition":      {false, "the server gave no defined reason"},
}

func (e *StreamError) Error() string {
	var b strings.Builder
	if e.Sent {
		b.WriteString("stream error sent: ")
	} else {
		b.WriteString("stream error from server: ")
	}
	b.WriteString(e.Condition)
	if info, ok := conditionInfo[e.Condition]; ok {
		b.WriteString(" (" + info.meaning + ")")
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	return b.String()
}

// Permanent says whether connecting again with the same configuration cannot
// help (a wrong secret, an unknown component name).
func (e *StreamError) Permanent() bool { return conditionInfo[e.Condition].permanent }

// Is matches any StreamError with the same condition.
func (e *StreamError) Is(target error) bool {
	t, ok := target.(*StreamError)
	return ok && t.Condition == e.Condition
}

// IsPermanent reports whether err, anywhere in its chain, says retrying
// cannot help.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// parseStreamError reads a <stream:error/> element.
func parseStreamError(e *xmpp.Element) *StreamError {
	se := &StreamError{}
	se.Condition, se.Text = errorCondition(e, nsStreamErr)
	return se
}

// errorCondition reads an error element's defined condition (the child in
// ns other than <text/>; undefined-condition when there is none) and text.
func errorCondition(e *xmpp.Element, ns string) (condition, text string) {
	condition = "undefined-condition"
	for _, c := range e.Children {
		c, ok := c.(*xmpp.Element)
		if !ok || c.NS != ns {
			continue
		}
		if c.Name == "text" {
			text = textOf(c)
		} else {
			condition = c.Name
		}
	}
	return condition, text
}

// streamErrorElement builds the <stream:error/> this side sends.
func streamErrorElement(condition, text string) []byte {
	var b bytes.Buffer
	b.WriteString("<stream:error><" + condition + " xmlns='" + nsStreamErr + "'/>")
	if text != "" {
		b.WriteString("<text xmlns='" + nsStreamErr + "'>")
		escapeText(&b, text)
		b.WriteString("</text>")
	}
	b.WriteString("</stream:error>")
	return b.Bytes()
}

// StanzaError is an IQ answered with type='error' (RFC 6120 §8.3).
type StanzaError struct {
	Type      string // cancel, modify, auth, wait, continue
	Condition string // e.g. forbidden, item-not-found
	Text      string
	Stanza    *xmpp.Element // the whole error reply
}

func (e *StanzaError) Error() string {
	s := fmt.Sprintf("iq error %s/%s", e.Type, e.Condition)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// ParseStanzaError reads the <error/> child of an error stanza; nil when e is
// not of type error.
func ParseStanzaError(e *xmpp.Element) *StanzaError {
	if e == nil || attr(e, "type") != "error" {
		return nil
	}
	se := &StanzaError{Condition: "undefined-condition", Stanza: e}
	if errEl := child(e, "error", ""); errEl != nil {
		se.Type = attr(errEl, "type")
		se.Condition, se.Text = errorCondition(errEl, nsStanzaErr)
	}
	return se
}
