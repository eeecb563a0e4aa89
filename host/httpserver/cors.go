package httpserver

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// applyCORS sets the headers mod_http's CORS support sets: the configured
// methods plus those routed at the path, the allowed headers and max age, and
// the origin echoed back when it is allowed. A disallowed origin gets none.
func (s *Server) applyCORS(h http.Header, r *http.Request, routed []string) {
	c := s.cfg.CORS
	origin := r.Header.Get("Origin")
	if !originAllowed(c.AllowOrigins, origin) {
		return
	}
	methods := append([]string(nil), c.AllowMethods...)
	for _, m := range routed {
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ", "))
	h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	if origin == "" {
		origin = "*"
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Add("Vary", "Origin")
}

func originAllowed(allowed []string, origin string) bool {
	if len(allowed) == 0 || slices.Contains(allowed, "*") {
		return true
	}
	return slices.Contains(allowed, origin)
}
