// Package rosteradmin is the Go half of the bundled mod_http_roster_admin
// (mod_http_roster_admin.lua beside it): the library modhost.roster_admin,
// which reads the web application's answers off the Lua loop and compares
// rosters in Go. The plugin uses it when the runtime offers it and falls
// back on its own Lua reader inside Prosody. The folder's tests run the
// plugin inside real Prosody and on modhost, against one scenario list.
package rosteradmin
