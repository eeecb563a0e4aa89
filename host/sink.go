package host

import "sync"

// StanzaSink receives every stanza a plugin sends (module:send, session
// stanzas for users without a standalone session, roster pushes): the XMPP
// link in production, a Recorder in tests. XML is the stanza serialised as
// util.stanza serialises it. It is called on the loop goroutine and must not
// block.
type StanzaSink interface {
	SendStanza(host, xml string) error
}

// Recorder is a StanzaSink that keeps what it is sent, for tests and tools.
type Recorder struct {
	mu   sync.Mutex
	sent []SentStanza
}

// SentStanza is one stanza seen by a Recorder.
type SentStanza struct {
	Host string
	XML  string
}

// SendStanza implements StanzaSink.
func (r *Recorder) SendStanza(host, xml string) error {
	r.mu.Lock()
	r.sent = append(r.sent, SentStanza{Host: host, XML: xml})
	r.mu.Unlock()
	return nil
}

// Sent returns a copy of everything recorded so far.
func (r *Recorder) Sent() []SentStanza {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SentStanza(nil), r.sent...)
}

// Reset forgets what was recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.sent = nil
	r.mu.Unlock()
}
