// Package testkit is what every package's tests share: the web
// application's side of the roster-admin contract (Backend), a log
// destination safe for several goroutines (SyncBuffer), a bounded wait for a
// condition (Eventually) and running Lua on a loop (NewLoop, CallLua,
// RunLua). It imports nothing of modhost's but the lua package, so the
// runtime's own tests can use it; internal/runtimetest starts whole
// runtimes, internal/prosodytest real Prosody servers, internal/xmpptest
// real XMPP clients.
package testkit
