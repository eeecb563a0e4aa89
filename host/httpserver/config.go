package httpserver

import (
	"time"
)

// Config holds the HTTP server's options. The zero value of each field means
// "the default"; the defaults follow Prosody 0.12's mod_http except where
// noted (listening on loopback only, a 1 MiB body limit, CORS off).
type Config struct {
	// HTTPPorts are the plain-HTTP ports (Prosody's http_ports). nil means
	// {5280}; an empty non-nil slice means no plain HTTP.
	HTTPPorts []int
	// HTTPSPorts are the TLS ports (https_ports). nil means {5281} but only
	// when a certificate is found (CertFile, or one in CertDir), as Prosody
	// only opens 5281 when it has a certificate; an empty non-nil slice
	// means no HTTPS. Ports set explicitly without a usable certificate make
	// Start fail.
	HTTPSPorts []int
	// Interfaces to listen on (http_interfaces). nil means loopback only,
	// {"127.0.0.1", "::1"} — unlike Prosody, which listens on all
	// interfaces. "*" means every IPv4 interface and "::" every IPv6 one.
	Interfaces []string
	// CertFile and KeyFile are https_certificate and https_key. A CertFile
	// without KeyFile finds its key as Prosody does: x.crt → x.key,
	// …/fullchain.pem → …/privkey.pem.
	CertFile, KeyFile string
	// CertDir is Prosody's `certificates` folder, searched when CertFile is
	// empty: https.crt/https.key, https/fullchain.pem, https.pem, then every
	// unexpired *.crt or *fullchain* with a matching key (chosen by SNI).
	CertDir string
	// MaxBody bounds request bodies (http_max_content_size); larger bodies
	// get 413. Default 1 MiB (Prosody: 10 MiB).
	MaxBody int64
	// Connection timeouts of net/http. Defaults: 10s, 30s, HandlerDeadline
	// plus 5s (so a 504 can still be written), 120s.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// HandlerDeadline bounds how long a route's handler may take before the
	// client gets 504. Default 30s.
	HandlerDeadline time.Duration
	// MaxHeaderBytes bounds the request head. Default 64 KiB.
	MaxHeaderBytes int
	// CORS adds CORS headers and answers preflight requests for mounted
	// routes. nil (the default) means no CORS headers at all.
	CORS *CORSConfig
	// BodyTimeout bounds the reading of a request body, much more tightly
	// than handlers (http_request_body_timeout): a body not received in
	// time gets 408 and the connection closes. Default 10s.
	BodyTimeout time.Duration
	// MaxConcurrentPerClient bounds the requests per client IP whose body
	// has arrived and that wait for their handler (a client still sending
	// its body holds no slot); more get 429. Default 32; negative means
	// unlimited. The client is the peer's address unless TrustedProxies
	// was set: then it is the address the proxies forwarded.
	MaxConcurrentPerClient int
	// MaxQueuedRequests and MaxQueuedBytes bound the requests of Queued
	// routes waiting for the Lua loop, and their bodies' bytes
	// (http_max_queued_requests, http_max_queued_bytes); more get 503 with
	// Retry-After. Defaults 2048 and 64 MiB; negative means unlimited.
	MaxQueuedRequests int
	MaxQueuedBytes    int64
	// DefaultHost (http_default_host) answers requests whose Host header
	// names no host with routes, and requests to an IP address. "", or a
	// host without routes, means the first host that mounted routes (Prosody
	// has no such fallback and answers 404 "Unknown host").
	DefaultHost string
	// TrustedProxies (trusted_proxies) are IPs or CIDRs whose
	// X-Forwarded-For and X-Forwarded-Proto are believed when computing a
	// request's client IP and whether it is secure. nil means
	// {"127.0.0.1", "::1"}, as in Prosody, for request.ip and secure; the
	// per-client limit then keys on the peer, since any local process
	// can claim any X-Forwarded-For.
	TrustedProxies []string
	// trustedByDefault is set by withDefaults when TrustedProxies was nil.
	trustedByDefault bool
	// Observe, if set, is called after every request with the owner of the
	// route that answered it ("" when no route did: 404, 405, 429, a bad
	// path), the status sent and how long it took. It runs on the request's
	// goroutine and must be quick; modhost feeds its metrics with it.
	Observe func(owner string, status int, elapsed time.Duration)
}

// CORSConfig mirrors mod_http's access_control_* options.
type CORSConfig struct {
	// AllowOrigins lists the origins answered; empty or "*" means any
	// (the request's Origin is echoed, or "*" without one).
	AllowOrigins []string
	// AllowMethods are always announced; the methods routed at the
	// requested path are added. Default {"GET", "OPTIONS"}.
	AllowMethods []string
	// AllowHeaders default {"Content-Type"}.
	AllowHeaders []string
	// AllowCredentials sets Access-Control-Allow-Credentials: true.
	AllowCredentials bool
	// MaxAge defaults to two hours.
	MaxAge time.Duration
}

const (
	defaultHTTPPort  = 5280
	defaultHTTPSPort = 5281
)

// withDefaults returns cfg with every unset field given its default.
func (cfg Config) withDefaults() Config {
	if cfg.HTTPPorts == nil {
		cfg.HTTPPorts = []int{defaultHTTPPort}
	}
	if cfg.Interfaces == nil {
		cfg.Interfaces = []string{"127.0.0.1", "::1"}
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.HandlerDeadline <= 0 {
		cfg.HandlerDeadline = 30 * time.Second
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = cfg.HandlerDeadline + 5*time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 64 << 10
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 10 * time.Second
	}
	if cfg.MaxConcurrentPerClient == 0 {
		cfg.MaxConcurrentPerClient = 32
	}
	if cfg.MaxQueuedRequests == 0 {
		cfg.MaxQueuedRequests = 2048
	}
	if cfg.MaxQueuedBytes == 0 {
		cfg.MaxQueuedBytes = 64 << 20
	}
	if cfg.TrustedProxies == nil {
		cfg.TrustedProxies = []string{"127.0.0.1", "::1"}
		cfg.trustedByDefault = true
	}
	if cfg.CORS != nil {
		c := *cfg.CORS
		if c.AllowMethods == nil {
			c.AllowMethods = []string{"GET", "OPTIONS"}
		}
		if c.AllowHeaders == nil {
			c.AllowHeaders = []string{"Content-Type"}
		}
		if c.MaxAge <= 0 {
			c.MaxAge = 2 * time.Hour
		}
		cfg.CORS = &c
	}
	return cfg
}
