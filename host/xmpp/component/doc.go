// Package component is the protocol layer of modhost's XMPP link: an
// external component (XEP-0114) that reaches the XMPP server with the
// privileges of XEP-0356 (Privileged Entity) and answers the namespaces the
// server delegates to it by XEP-0355 (Namespace Delegation).
//
// It speaks XML and exposes Go types only; the runtime plugs it into the Lua
// loop. Stanzas are *xmpp.Element values, filled the way Prosody's own
// stream parser fills a util.stanza table, so compat.ElementToStanza turns
// them into the table a plugin would see inside Prosody.
//
//   - Dial opens one authenticated stream (Conn): Read, Send, SendIQ.
//   - Client keeps a stream up, reconnecting with Backoff, and feeds a Handler.
//   - ParsePrivileges, RosterGet, RosterSet, RosterPush, PrivilegedIQ,
//     PrivilegedMessage build and read XEP-0356 stanzas.
//   - ParseDelegations, UnwrapDelegated and DelegatedIQ.Reply handle
//     XEP-0355; the server's delegation disco queries are answered by Conn.
//   - Snippet prints the server-side configuration for Prosody and ejabberd.
package component
