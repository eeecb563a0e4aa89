// Package ejabberdapi is a client of ejabberd's admin API: the commands of
// mod_admin_extra (and ejabberd's own) called over mod_http_api, each a POST
// of a JSON object to <url>/<command> answered with JSON. modhost uses it
// where ejabberd 23.01's XEP-0356 cannot do the job: writing and reading
// users' rosters (add_rosteritem, delete_rosteritem, get_roster), listing who
// is online (connected_users) and sending a stanza on a user's behalf
// (send_stanza). It imports no Lua and knows nothing of modhost's runtime.
//
// What 23.01 does with these commands, measured, is in the package README and
// ../shared/XMPP-LINK.md (ejabberd section); the traps the callers must handle
// are on each method.
package ejabberdapi

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultURL is the API listener the ejabberd snippet declares.
const DefaultURL = "http://127.0.0.1:5281/api"

// DefaultTimeout bounds one call when Config.Timeout is zero. ejabberd
// answers these commands in about a millisecond on loopback.
const DefaultTimeout = 10 * time.Second

// maxReply bounds how much of an answer is read: a roster of tens of
// thousands of contacts fits; a runaway body does not fill memory.
const maxReply = 64 << 20

// Config says where the API is and how to authenticate to it.
type Config struct {
	// URL is the API's base, the path mod_http_api is mounted on
	// (request_handlers: { "/api": mod_http_api }). Default DefaultURL.
	URL string
	// Token is an OAuth token (sent as "Authorization: Bearer"); or User
	// (a full JID, user@host) and Password for basic authentication; or
	// neither, when api_permissions let the caller's IP in (the snippet's
	// loopback rule).
	Token          string
	User, Password string
	// Timeout bounds each call (on top of the caller's context). Default
	// DefaultTimeout.
	Timeout time.Duration
	// HTTP is the client used; nil means a client of the package's own
	// (http.DefaultClient's transport, no redirects followed).
	HTTP *http.Client
}

// Client calls ejabberd's admin API commands. It is safe for concurrent use.
type Client struct {
	base    string
	cfg     Config
	http    *http.Client
	timeout time.Duration
}

// New checks cfg and returns a client. A URL off loopback without a token or
// credentials is refused: api_permissions would have to trust that network.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ejabberd API url %q: want http(s)://host:port/path, e.g. %s", cfg.URL, DefaultURL)
	}
	if (cfg.User == "") != (cfg.Password == "") {
		return nil, errors.New("ejabberd API: user and password go together (user is a full JID, user@host)")
	}
	if cfg.Token == "" && cfg.User == "" && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("ejabberd API url %s is not on loopback: give a token (token or token_file) or user and password, "+
			"or run the API listener on 127.0.0.1 (the snippet's ip: \"127.0.0.1\")", cfg.URL)
	}
	c := &Client{base: strings.TrimRight(cfg.URL, "/"), cfg: cfg, http: cfg.HTTP, timeout: cfg.Timeout}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.http == nil {
		c.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return c, nil
}

// URL is the API's base URL.
func (c *Client) URL() string { return c.base }

// IsLoopback says whether host (a name or an address) is this machine's
// loopback.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Error is a command ejabberd did not carry out: the HTTP status, and what
// ejabberd said (its error code and message, when it sent the JSON error
// object; the JSON string it sent otherwise).
type Error struct {
	Command string
	Status  int
	Code    int // mod_http_api's code: 32 access denied, 40 unknown command, …
	Message string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("ejabberd API %s: HTTP %d", e.Command, e.Status)
	if e.Code != 0 {
		msg += fmt.Sprintf(" code %d", e.Code)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if advice := e.Advice(); advice != "" {
		msg += " (" + advice + ")"
	}
	return msg
}

// Advice says, in ejabberd's configuration terms, what an operator does about
// the error; empty when there is nothing to configure.
func (e *Error) Advice() string {
	switch {
	case e.Status == http.StatusForbidden || e.Code == 32:
		return fmt.Sprintf(`add an api_permissions rule for modhost: "modhost": { from: [mod_http_api], who: { ip: 127.0.0.1/8 }, what: [%s, …] } in ejabberd.yml (see: modhost prosody-snippet --server ejabberd)`, e.Command)
	case e.Status == http.StatusUnauthorized:
		return "the token or user/password in ejabberd_api was refused: check them against ejabberd's oauth or the account"
	case e.Status == http.StatusNotFound:
		return "enable mod_admin_extra in ejabberd.yml's modules (it provides the roster and session commands), and check ejabberd_api's url points at mod_http_api's path"
	}
	return ""
}

// Call runs command with args (marshalled as the JSON object) and decodes
// the answer into out (nil to ignore it). A non-200 answer is an *Error.
func (c *Client) Call(ctx context.Context, command string, args, out any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("ejabberd API %s: encode arguments: %w", command, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+command, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ejabberd API %s: %w", command, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	switch {
	case c.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	case c.cfg.User != "":
		req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ejabberd API %s at %s: %w", command, c.base, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return fmt.Errorf("ejabberd API %s: read the answer: %w", command, err)
	}
	if resp.StatusCode != http.StatusOK {
		return errorOf(command, resp.StatusCode, reply)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(reply, out); err != nil {
		return fmt.Errorf("ejabberd API %s: unexpected answer %.200q: %w", command, reply, err)
	}
	return nil
}

// errorOf reads mod_http_api's error answer: {"status":"error","code":N,
// "message":"…"} for access and routing errors, a JSON string ("internal_error",
// "Request have missing argument: …") for a command that failed.
func errorOf(command string, status int, body []byte) *Error {
	e := &Error{Command: command, Status: status}
	var obj struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	var s string
	switch {
	case json.Unmarshal(body, &obj) == nil && (obj.Code != 0 || obj.Message != ""):
		e.Code, e.Message = obj.Code, obj.Message
	case json.Unmarshal(body, &s) == nil:
		e.Message = s
	default:
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// Status runs ejabberd's status command: nil when the node is started.
func (c *Client) Status(ctx context.Context) error {
	return c.Call(ctx, "status", struct{}{}, nil)
}

// resultCode decodes the integer mod_admin_extra's rescode commands answer:
// 0 is success.
func (c *Client) rescode(ctx context.Context, command string, args any) error {
	var code int
	if err := c.Call(ctx, command, args, &code); err != nil {
		return err
	}
	if code != 0 {
		return &Error{Command: command, Status: http.StatusOK, Message: fmt.Sprintf("the command answered %d (failure)", code)}
	}
	return nil
}

// xmlAttr escapes s for an XML attribute in single quotes.
func xmlAttr(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}
