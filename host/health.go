package host

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/modhost/modhost/host/httpserver"
)

// healthModule is modhost's own health endpoint for load balancers and
// service managers (Prosody has none): listed in any host's
// modules_enabled, it serves GET /health (http_paths.health moves it).
const healthModule = "http_health"

// builtInEndpoints are the modules modhost implements in Go: listed in
// modules_enabled, each mounts its endpoint once, whichever host lists it.
var builtInEndpoints = map[string]func(*Runtime) (string, error){
	healthModule:      (*Runtime).serveHealth,
	openMetricsModule: (*Runtime).serveOpenMetrics,
}

// healthAnswer is the endpoint's body.
type healthAnswer struct {
	// Status is "ok" when every XMPP link is online, else "unavailable".
	Status string `json:"status"`
	// Links maps each linked host to its link's state (online,
	// connecting, …).
	Links map[string]string `json:"links"`
}

// serveHealth mounts the health endpoint, once. It answers 200 when every
// linked host's component stream is online (or no host is linked), 503
// otherwise: an instance whose XMPP server is gone cannot keep rosters in
// step, so a load balancer sends refreshes elsewhere. It does not wait on
// the Lua loop, so a busy loop does not look like a dead instance.
func (rt *Runtime) serveHealth() (string, error) {
	if rt.healthAt != "" {
		return rt.healthAt, nil
	}
	paths, _ := rt.cfg.Global.Options["http_paths"].(map[string]any)
	base := httpserver.BasePath(healthModule, "", "health", paths, "*")
	handler := func(w http.ResponseWriter, r *http.Request, _ string) {
		ans := healthAnswer{Status: "ok", Links: rt.LinkStates()}
		if ans.Links == nil {
			ans.Links = map[string]string{}
		}
		hosts := make([]string, 0, len(ans.Links))
		for h := range ans.Links {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			if ans.Links[h] != "online" {
				ans.Status = "unavailable"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if ans.Status != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(ans)
	}
	if _, err := rt.http.Mount(httpserver.AnyHost, base, []httpserver.Route{{Method: http.MethodGet, Handler: handler}}, "*:"+healthModule); err != nil {
		return "", fmt.Errorf("mount health endpoint: %w", err)
	}
	rt.healthAt = base
	rt.log.Info("health served", "path", base)
	return base, nil
}
