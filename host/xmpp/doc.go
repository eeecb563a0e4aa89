// Package xmpp is modhost's model of XMPP stanzas for Go code: Element (an
// XML element in exactly the shape of a util.stanza table) and the namespace
// scoping (Namespaces in XML 1.0) that the stream decoder and util.xml's
// parser share. It imports no Lua; compat converts Elements to and from
// util.stanza tables, and the protocol itself lives in xmpp/component.
package xmpp
