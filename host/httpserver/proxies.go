package httpserver

import (
	"net"
	"net/http"
	"strings"
)

// clientIP applies mod_http's trusted_proxies rule: walk X-Forwarded-For
// (with the peer appended) and keep the last address that is not a trusted
// proxy, so an untrusted peer cannot claim another address.
func (s *Server) clientIP(r *http.Request) string {
	ip := hostOnly(r.RemoteAddr)
	fwd := r.Header.Get("X-Forwarded-For")
	if fwd == "" || !s.isTrusted(ip) {
		return ip
	}
	chain := append(strings.FieldsFunc(fwd, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }), ip)
	for _, hop := range chain {
		if !s.isTrusted(hop) {
			ip = hop
		}
	}
	return ip
}

// isSecure is TLS on the connection, or a trusted proxy saying it had TLS.
func (s *Server) isSecure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.isTrusted(hostOnly(r.RemoteAddr)) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) isTrusted(addr string) bool {
	ip := net.ParseIP(addr)
	if ip == nil {
		return false
	}
	for _, n := range s.trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func parseIPOrCIDR(v string) *net.IPNet {
	if _, n, err := net.ParseCIDR(v); err == nil {
		return n
	}
	ip := net.ParseIP(v)
	if ip == nil {
		return nil
	}
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(128, 128)}
}

// hostOnly strips the port from a "host:port" remote address.
func hostOnly(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
