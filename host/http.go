package host

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"path/filepath"
	"time"

	"github.com/modhost/modhost/compat"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/host/httpserver"
)

// httpConfig maps Prosody's global HTTP options onto the server's config.
func (rt *Runtime) httpConfig() (httpserver.Config, error) {
	g := rt.cfg.Global.Options
	var c httpserver.Config
	var err error
	if c.HTTPPorts, err = portList(g, "http_ports"); err != nil {
		return c, err
	}
	if c.HTTPSPorts, err = portList(g, "https_ports"); err != nil {
		return c, err
	}
	if v, ok := g["http_interfaces"]; ok {
		c.Interfaces = stringList(v)
	}
	dir := filepath.Dir(rt.cfg.Path)
	abs := func(p string) string {
		if p != "" && !filepath.IsAbs(p) {
			return filepath.Join(dir, p)
		}
		return p
	}
	c.CertFile, _ = g["https_certificate"].(string)
	c.KeyFile, _ = g["https_key"].(string)
	c.CertFile, c.KeyFile = abs(c.CertFile), abs(c.KeyFile)
	if d, ok := g["certificates"].(string); ok {
		c.CertDir = abs(d)
	} else {
		c.CertDir = abs("certs")
	}
	if n, ok := g["http_max_content_size"].(float64); ok && n > 0 {
		c.MaxBody = int64(n)
	}
	if n, ok := g["http_request_deadline"].(float64); ok && n > 0 {
		c.HandlerDeadline = time.Duration(n * float64(time.Second))
	}
	c.DefaultHost, _ = g["http_default_host"].(string)
	if v, ok := g["trusted_proxies"]; ok {
		c.TrustedProxies = stringList(v)
	}
	if n, ok := g["http_max_requests_per_client"].(float64); ok {
		c.MaxConcurrentPerClient = int(n)
	}
	if n, ok := g["http_request_body_timeout"].(float64); ok && n > 0 {
		c.BodyTimeout = time.Duration(n * float64(time.Second))
	}
	if n, ok := g["http_max_queued_requests"].(float64); ok {
		c.MaxQueuedRequests = int(n)
	}
	if n, ok := g["http_max_queued_bytes"].(float64); ok {
		c.MaxQueuedBytes = int64(n)
	}
	if origins, ok := g["access_control_allow_origins"]; ok {
		cors := &httpserver.CORSConfig{AllowOrigins: stringList(origins)}
		if v, ok := g["access_control_allow_methods"]; ok {
			cors.AllowMethods = stringList(v)
		}
		if v, ok := g["access_control_allow_headers"]; ok {
			cors.AllowHeaders = stringList(v)
		}
		cors.AllowCredentials, _ = g["access_control_allow_credentials"].(bool)
		if n, ok := g["access_control_max_age"].(float64); ok {
			cors.MaxAge = time.Duration(n) * time.Second
		}
		c.CORS = cors
	}
	return c, nil
}

func portList(opts map[string]any, name string) ([]int, error) {
	v, ok := opts[name]
	if !ok {
		return nil, nil
	}
	var vals []any
	switch v := v.(type) {
	case float64:
		vals = []any{v}
	case []any:
		vals = v
	case map[string]any:
		if len(v) == 0 {
			return []int{}, nil
		}
		return nil, fmt.Errorf("option %s: expected a list of port numbers", name)
	default:
		return nil, fmt.Errorf("option %s: expected a port number or a list of them, got %v", name, v)
	}
	ports := []int{}
	for _, e := range vals {
		n, ok := e.(float64)
		if !ok || n < 0 || n > 65535 || n != float64(int(n)) {
			return nil, fmt.Errorf("option %s: %v is not a port number", name, e)
		}
		ports = append(ports, int(n))
	}
	return ports, nil
}

// luaHTTPMount is native.http_mount(host, module_name, item): mounts the
// routes of an "http" item under the base path mod_http would give it.
// Returns a mount id, or nil and an error.
func (rt *Runtime) luaHTTPMount(L *glua.LState) int {
	host, moduleName, item := L.CheckString(1), L.CheckString(2), L.CheckTable(3)
	if rt.http == nil {
		L.Push(glua.LNil)
		L.Push(glua.LString("no HTTP server"))
		return 2
	}
	routes, ok := item.RawGetString("route").(*glua.LTable)
	if !ok {
		L.Push(glua.LNil)
		L.Push(glua.LString("http item has no route table"))
		return 2
	}
	itemName, _ := item.RawGetString("name").(glua.LString)
	defaultPath, _ := item.RawGetString("default_path").(glua.LString)
	base := httpserver.BasePath(moduleName, string(itemName), string(defaultPath), rt.httpPaths(host), host)
	owner := host + ":" + moduleName
	rs, err := httpserver.LuaRoutes(rt.loop, L, routes, owner)
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	// mod_http files a host's routes under its http_host, if set (host, then
	// global, as module:get_option_string reads it).
	httpHost := host
	if h, ok := rt.cfg.Get(host, "http_host"); ok {
		if h, ok := h.(string); ok && h != "" {
			httpHost = h
		}
	}
	unmount, err := rt.http.Mount(httpHost, base, rs, owner)
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	rt.mountSeq++
	rt.mounts[rt.mountSeq] = unmount
	if httpHost != host {
		rt.log.Info("HTTP routes mounted", "host", host, "module", moduleName, "http_host", httpHost, "path", base)
	} else {
		rt.log.Info("HTTP routes mounted", "host", host, "module", moduleName, "path", base)
	}
	L.Push(glua.LNumber(rt.mountSeq))
	L.Push(glua.LString(base))
	return 2
}

// httpPaths is the http_paths option of host: the global table, with the
// host's entries over it, as mod_http reads it.
func (rt *Runtime) httpPaths(host string) map[string]any {
	paths := map[string]any{}
	if g, ok := rt.cfg.Global.Options["http_paths"].(map[string]any); ok {
		for k, v := range g {
			paths[k] = v
		}
	}
	if s := rt.cfg.Host(host); s != nil {
		if h, ok := s.Options["http_paths"].(map[string]any); ok {
			for k, v := range h {
				paths[k] = v
			}
		}
	}
	return paths
}

// luaHTTPURL is native.http_url(host, module, app, default_path): the URL
// at which module's app is reached, as Prosody's module:http_url() gives
// it. With http_external_url (the host's, else the global one) it is that
// URL's scheme, host, port and path followed by the app's path; else the
// scheme and port modhost serves HTTP on (https first, as Prosody), the
// host's http_host or the host itself (a global module: http_default_host,
// else the interface), and the app's path. Without any HTTP port it is
// Prosody's "http://disabled.invalid/".
func (rt *Runtime) luaHTTPURL(L *glua.LState) int {
	host, moduleName := L.CheckString(1), L.CheckString(2)
	app, defaultPath := L.OptString(3, ""), L.OptString(4, "")
	base := httpserver.BasePath(moduleName, app, defaultPath, rt.httpPaths(host), host)
	str := func(name string) string {
		v, _ := rt.cfg.Get(host, name)
		s, _ := v.(string)
		return s
	}
	if ext := str("http_external_url"); ext != "" {
		if u, err := url.Parse(ext); err == nil && u.Scheme != "" && u.Host != "" {
			if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
				u.Host = u.Hostname()
			}
			u.Path = strings.TrimSuffix(u.Path, "/") + base
			u.RawPath, u.RawQuery, u.Fragment = "", "", ""
			L.Push(glua.LString(u.String()))
			return 1
		}
	}
	scheme, port := rt.httpListenerFor()
	if port == "" {
		L.Push(glua.LString("http://disabled.invalid/"))
		return 1
	}
	name := str("http_host")
	if name == "" {
		name = host
		if host == "*" {
			name = cmp.Or(str("http_default_host"), "localhost")
		}
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		L.Push(glua.LString(scheme + "://" + name + base))
	} else {
		L.Push(glua.LString(scheme + "://" + net.JoinHostPort(name, port) + base))
	}
	return 1
}

// httpListenerFor picks the scheme and port module:http_url names: an
// https listener first, else an http one; before the server listens (a
// module asking while it loads), the configured ports.
func (rt *Runtime) httpListenerFor() (scheme, port string) {
	var fallback [2]string
	for _, u := range rt.HTTPURLs() {
		s, hostport, _ := strings.Cut(u, "://")
		_, p, _ := net.SplitHostPort(hostport)
		if s == "https" {
			return s, p
		}
		if fallback[0] == "" {
			fallback = [2]string{s, p}
		}
	}
	if fallback[0] != "" {
		return fallback[0], fallback[1]
	}
	if rt.http != nil && rt.http.Started() {
		return "", ""
	}
	cfg, err := rt.httpConfig()
	if err != nil {
		return "", ""
	}
	if len(cfg.HTTPPorts) > 0 {
		return "http", strconv.Itoa(cfg.HTTPPorts[0])
	}
	if cfg.HTTPPorts == nil {
		return "http", "5280"
	}
	return "", ""
}

// luaHTTPUnmount is native.http_unmount(id).
func (rt *Runtime) luaHTTPUnmount(L *glua.LState) int {
	id := int(L.CheckNumber(1))
	if unmount, ok := rt.mounts[id]; ok {
		delete(rt.mounts, id)
		unmount()
	}
	return 0
}

// httpClientDefaults maps modhost's options for plugins' outgoing HTTP
// (net.http) onto compat.HTTPDefaults. Prosody 0.12 has no such options:
// its client never times out, which modhost does not reproduce.
func (rt *Runtime) httpClientDefaults() compat.HTTPDefaults {
	g := rt.cfg.Global.Options
	var d compat.HTTPDefaults
	if n, ok := g["http_client_timeout"].(float64); ok && n > 0 {
		d.Timeout = time.Duration(n * float64(time.Second))
	}
	if n, ok := g["http_client_max_body"].(float64); ok && n > 0 {
		d.MaxBody = int64(n)
	}
	if n, ok := g["http_client_max_connections_per_host"].(float64); ok && n > 0 {
		d.MaxConnsPerHost = int(n)
	}
	return d
}
