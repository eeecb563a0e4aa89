package compat

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// HTTPDefaults are the limits net.http applies to every request of one Lua
// state. The zero value of a field means its default.
type HTTPDefaults struct {
	// Timeout bounds a whole request, connecting to reading the last byte of
	// the body, unless the request's options.timeout says otherwise.
	// Default 30 s. Prosody 0.12 has no such bound: a hanging server hangs
	// the request for ever.
	Timeout time.Duration
	// MaxBody is the largest response body accepted; a larger one fails the
	// request with "content-length-limit-exceeded". Default 16 MiB.
	MaxBody int64
	// MaxConnsPerHost bounds the connections open to one host:port (further
	// requests wait for one, within their timeout); as many are kept idle
	// for reuse. Default 64.
	MaxConnsPerHost int
	// UserAgent is sent unless a request sets its own. Default "modhost".
	UserAgent string
}

const (
	defaultHTTPTimeout      = 30 * time.Second
	defaultHTTPMaxBody      = 16 << 20
	defaultHTTPConnsPerHost = 64
	defaultHTTPUserAgent    = "modhost"
)

func (d HTTPDefaults) withDefaults() HTTPDefaults {
	if d.Timeout <= 0 {
		d.Timeout = defaultHTTPTimeout
	}
	if d.MaxBody <= 0 {
		d.MaxBody = defaultHTTPMaxBody
	}
	if d.MaxConnsPerHost <= 0 {
		d.MaxConnsPerHost = defaultHTTPConnsPerHost
	}
	if d.UserAgent == "" {
		d.UserAgent = defaultHTTPUserAgent
	}
	return d
}

// httpClients is the per-Lua-state HTTP client: one pooled client for
// verified TLS and one for requests that asked for `insecure`, so that
// connections are reused across requests to the same backend.
type httpClients struct {
	defaults  HTTPDefaults
	verified  *http.Client
	insecure  *http.Client
	userAgent []string // defaults.UserAgent as a header's values, shared by Fetch's requests
}

const httpClientsKey = "modhost.net.http"

func newHTTPClients(d HTTPDefaults) *httpClients {
	d = d.withDefaults()
	return &httpClients{
		defaults:  d,
		verified:  newHTTPClient(d, false),
		insecure:  newHTTPClient(d, true),
		userAgent: []string{d.UserAgent},
	}
}

func newHTTPClient(d HTTPDefaults, insecure bool) *http.Client {
	dialer := &net.Dialer{Timeout: d.Timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		// Prosody's client uses no proxy; a proxy taken from the environment
		// would send backend traffic somewhere the config never named.
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        4 * d.MaxConnsPerHost,
		MaxIdleConnsPerHost: d.MaxConnsPerHost,
		MaxConnsPerHost:     d.MaxConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		// Bodies reach Lua as the server sent them, as with Prosody, which
		// never asks for compression.
		DisableCompression: true,
	}
	if insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &http.Client{
		Transport: transport,
		// Prosody's net.http does not follow redirects: the plugin sees the 3xx.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (c *httpClients) close() {
	c.verified.CloseIdleConnections()
	c.insecure.CloseIdleConnections()
}

// CloseHTTPClients closes the idle backend connections net.http keeps for
// L, so that nothing of a stopped runtime stays behind. Call it on the loop.
func CloseHTTPClients(L *glua.LState) {
	if c := clientsOf(L, false); c != nil {
		c.close()
	}
}

// SetHTTPDefaults sets the limits of net.http for the Lua state L (the host
// maps config options such as http_default_timeout onto it). Requests in
// flight keep the limits they started with. Call it on the loop goroutine.
func SetHTTPDefaults(L *glua.LState, d HTTPDefaults) {
	if old := clientsOf(L, false); old != nil {
		old.close()
	}
	ud := L.NewUserData()
	ud.Value = newHTTPClients(d)
	L.G.Registry.RawSetString(httpClientsKey, ud)
}

// clientsOf returns L's clients, creating them with the defaults if create
// is set and there are none yet.
func clientsOf(L *glua.LState, create bool) *httpClients {
	if ud, ok := L.G.Registry.RawGetString(httpClientsKey).(*glua.LUserData); ok {
		if c, ok := ud.Value.(*httpClients); ok {
			return c
		}
	}
	if !create {
		return nil
	}
	SetHTTPDefaults(L, HTTPDefaults{})
	return clientsOf(L, false)
}

// httpResult is what a request's goroutine hands back to the loop: either a
// response or, with code 0, Prosody's error string in failure.
type httpResult struct {
	code    int
	proto   string
	header  http.Header
	body    string
	length  int64 // Content-Length, -1 when unknown
	chunked bool
	failure string
	err     error // the Go error behind failure, for the log
}

// errBodyTooLarge marks a response body over the MaxBody limit.
var errBodyTooLarge = errors.New("response body over the size limit")

// readBody reads at most maxBody+1 bytes into a buffer that grows as bytes
// arrive (doubling, from 512 bytes or the announced length if smaller),
// never past the announced length + 1 (to see a body longer than
// announced): a Content-Length of 16 MB with a byte a second must not cost
// 16 MB the moment its headers come in.
func readBody(resp *http.Response, maxBody int64) (string, error) {
	limit := maxBody + 1
	if resp.ContentLength >= 0 {
		limit = min(limit, resp.ContentLength+1)
	}
	return readGrowing(resp.Body, limit)
}

// bodyBuffers are the buffers bodies are read into: a body is read into one
// as it arrives (never sized by what the server announces), then copied
// once into the string Lua gets. Growing a buffer of its own per response,
// then converting it, cost three times the body in garbage, on every
// roster fetch.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for the next body: one huge
// answer must not stay in memory for ever.
const maxPooledBody = 1 << 20

// readGrowing reads r to its end or limit bytes, whichever comes first.
func readGrowing(r io.Reader, limit int64) (string, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(r, limit))
	body := buf.String()
	if buf.Cap() <= maxPooledBody {
		bodyBuffers.Put(buf)
	}
	// limit bytes read: one more than announced or allowed, unless the body
	// ends exactly at the announced length, which the caller checks.
	return body, err
}

// do performs req with client and reads at most maxBody bytes of its body.
func do(client *http.Client, req *http.Request, maxBody int64) httpResult {
	resp, err := client.Do(req)
	if err != nil {
		return failed(err, false)
	}
	defer resp.Body.Close()
	if resp.ContentLength > maxBody {
		return failed(fmt.Errorf("content-length %d: %w", resp.ContentLength, errBodyTooLarge), true)
	}
	body, err := readBody(resp, maxBody)
	if err != nil {
		return failed(fmt.Errorf("read body: %w", err), true)
	}
	if int64(len(body)) > maxBody {
		return failed(fmt.Errorf("more than %d bytes: %w", maxBody, errBodyTooLarge), true)
	}
	chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
	return httpResult{
		code:    resp.StatusCode,
		proto:   fmt.Sprintf("%d.%d", resp.ProtoMajor, resp.ProtoMinor),
		header:  resp.Header,
		body:    body,
		length:  resp.ContentLength,
		chunked: chunked,
	}
}

func failed(err error, inBody bool) httpResult {
	return httpResult{failure: failureReason(err, inBody), err: err}
}

// failureReason maps a Go client error onto the string Prosody 0.12 passes
// as the body (with code 0) for the same failure, or a string in the same
// style for failures Prosody cannot have (timeout, body limit).
func failureReason(err error, inBody bool) string {
	var (
		errno      syscall.Errno
		dnsErr     *net.DNSError
		unknownCA  x509.UnknownAuthorityError
		invalidCrt x509.CertificateInvalidError
		hostErr    x509.HostnameError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, errBodyTooLarge):
		return "content-length-limit-exceeded"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &dnsErr):
		return "unable to resolve service"
	case errors.As(err, &unknownCA), errors.As(err, &invalidCrt):
		return "certificate-chain-invalid"
	case errors.As(err, &hostErr):
		return "certificate-verify-failed"
	case errors.Is(err, io.ErrUnexpectedEOF), inBody && errors.Is(err, io.EOF):
		return "unexpected-eof"
	case errors.Is(err, io.EOF):
		// The server closed the connection before answering.
		return "closed"
	case errors.As(err, &errno):
		return errno.Error() // "connection refused", "connection reset by peer", …
	}
	return err.Error()
}
