package httpserver

import (
	"net"
	"strings"
)

// hostTables is an immutable snapshot of every host's routing table, as
// Prosody's net.http.server keys its events by the request's host name.
// Mount and unmount build a new one and swap it in whole, so a request sees
// one consistent set of hosts and routes.
type hostTables struct {
	byHost map[string]*routeTable // hosts with at least one mount
	// defaultHost answers requests for a host name no mount is for; "" when
	// no host has routes.
	defaultHost string
	empty       *routeTable // answers 404 when no host has routes
}

// lookup picks the routing table for a request's host name: the host's own,
// else the default host's. It returns the host chosen ("" for none).
func (h *hostTables) lookup(name string) (string, *routeTable) {
	if t, ok := h.byHost[name]; ok {
		return name, t
	}
	if t, ok := h.byHost[h.defaultHost]; ok {
		return h.defaultHost, t
	}
	return "", h.empty
}

// requestHostName is the host name a request is addressed to: the Host
// header without its port (Prosody strips ":digits"), lower-cased because
// DNS names are case-insensitive and modhost's host names are nameprepped.
// An IPv6 literal loses its brackets.
func requestHostName(header string) string {
	if strings.HasPrefix(header, "[") {
		if end := strings.IndexByte(header, ']'); end > 0 {
			return strings.ToLower(header[1:end])
		}
		return strings.ToLower(header)
	}
	if net.ParseIP(header) != nil { // a bare IPv6 address: no port to strip
		return strings.ToLower(header)
	}
	if i := strings.LastIndexByte(header, ':'); i >= 0 && allDigits(header[i+1:]) {
		header = header[:i]
	}
	return strings.ToLower(header)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// mountHostName normalises the host a mount is for the way request host
// names are, so that "Example.COM" mounts answer Host: example.com.
func mountHostName(host string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}
