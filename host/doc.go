// Package host is modhost's runtime: it loads a Prosody config file, builds
// Prosody's world (the prosody and hosts globals, per-host event buses) inside
// one Lua loop, loads each host's plugins through core.modulemanager, and
// connects them to the outside: the stanza sink (the XMPP link, or a recorder
// in tests), storage, the HTTP server, and its metrics (Runtime.Metrics, served
// at /metrics by http_openmetrics; see METRICS.md).
//
// A Runtime is the embedding API:
//
//	rt, err := host.New(host.Options{ConfigFile: "prosody.cfg.lua"})
//	report, err := rt.Start(ctx)
//	result, err := rt.FireEvent(ctx, "example.com", "my-event", map[string]any{"x": 1})
//	err = rt.ReloadConfig(ctx) // what SIGHUP does: the file again, config-reloaded
//	rt.Stop(ctx)
//
// Every job on the loop has a budget (lua_job_timeout, 5 s by default):
// over it, the job is interrupted with a Lua error at its line, logged with
// the plugin (host:module) and a traceback, and the loop goes on; an HTTP
// handler's request gets 504. Stop ends within its context whatever the
// loop is doing and returns an error saying what did not end cleanly (a
// module whose unload failed, work that did not finish in time).
//
// Storage: the internal driver keeps data_path in Prosody's own layout and
// format (DATA/HOST/STORE/USER.dat), so a Prosody data folder is shared as
// it is; modhost's older JSON files are read and converted as they are
// written (store_files.go).
//
// Runtime.Login binds a standalone session, a user logged in without an XMPP
// server: Session.Send, Roster and Next act as its client; it keeps what it
// is sent until Session.Forget.
package host
