package link

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/host/xmpp/ejabberdapi"
)

// Options override a host's component_client option (flags and
// environment variables of `modhost run`). Empty fields leave the config's
// value.
type Options struct {
	Addr       string // host:port
	JID        string
	Secret     string
	SecretFile string
}

// settings are one linked host's link options, read from its config.
type settings struct {
	component component.Config
	// replyDeadline (delegation_timeout, default 20 s) bounds how long a
	// delegated IQ may wait for a plugin's answer before modhost answers it
	// with an error; resyncDelay (resync_delay, default 30 s) is how long
	// after a refused or unanswered roster write the user's whole roster is
	// compared with the server's again.
	replyDeadline time.Duration
	resyncDelay   time.Duration
	// api, from the host's ejabberd_api option, says rosters are written
	// and read through ejabberd's admin API, and sessions checked against
	// it every sessionsInterval (sessions_interval, default 5 s); nil
	// without the option.
	api              *ejabberdapi.Config
	sessionsInterval time.Duration
	// shared (ejabberd_api's shared = true) says other modhost instances
	// write the same rosters (instances in front of one ejabberd cluster):
	// every refresh then starts from ejabberd's roster, not this
	// instance's (shared_roster.go).
	shared bool
}

// readSettings reads `component_client = { host; port; jid; secret |
// secret_file; delegation_timeout; resync_delay }` from a VirtualHost (the
// README's "The XMPP link") and applies overrides. ok is false when the
// host has no link.
func readSettings(cfg *config.Config, host string, over Options) (s settings, ok bool, err error) {
	raw, _ := cfg.Get(host, "component_client")
	opts, _ := raw.(map[string]any)
	if opts == nil && (over.JID == "" || !onlyVirtualHost(cfg, host)) {
		// Overrides without a component_client option link a config's
		// only VirtualHost; with several, the option says which.
		return s, false, nil
	}
	str := func(k string) string { v, _ := opts[k].(string); return v }
	addrHost, port := str("host"), 5347
	if addrHost == "" {
		addrHost = "127.0.0.1"
	}
	if p, ok := opts["port"].(float64); ok {
		port = int(p)
	}
	c := &s.component
	c.Addr = addrHost + ":" + strconv.Itoa(port)
	c.JID = str("jid")
	c.Secret = str("secret")
	secretFile := str("secret_file")
	if over.Addr != "" {
		c.Addr = over.Addr
	}
	if over.JID != "" {
		c.JID = over.JID
	}
	if over.Secret != "" {
		c.Secret, secretFile = over.Secret, ""
	}
	if over.SecretFile != "" {
		secretFile = over.SecretFile
	}
	if secretFile != "" {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return s, true, fmt.Errorf("component_client of %s: secret_file: %w", host, err)
		}
		c.Secret = strings.TrimSpace(string(b))
	}
	if c.JID == "" {
		return s, true, fmt.Errorf("component_client of %s: jid is required (the component's name in the server's Component section)", host)
	}
	if c.Secret == "" {
		return s, true, fmt.Errorf("component_client of %s: secret or secret_file is required (Prosody's component_secret; ejabberd: the ejabberd_service listener's password)", host)
	}
	if s.replyDeadline, err = seconds(opts, host, "delegation_timeout", 20*time.Second); err != nil {
		return s, true, err
	}
	if s.resyncDelay, err = seconds(opts, host, "resync_delay", 30*time.Second); err != nil {
		return s, true, err
	}
	if err := readEjabberdAPI(cfg, host, &s); err != nil {
		return s, true, err
	}
	return s, true, nil
}

// readEjabberdAPI reads `ejabberd_api = { url; token | token_file | user and
// password (or password_file); timeout; sessions_interval; shared }` from a
// VirtualHost: rosters are then written through ejabberd's admin API
// (host/xmpp/ejabberdapi). url defaults to ejabberdapi.DefaultURL; one off
// loopback needs a token or credentials.
func readEjabberdAPI(cfg *config.Config, host string, s *settings) error {
	raw, ok := cfg.Get(host, "ejabberd_api")
	if !ok || raw == nil {
		return nil
	}
	opts, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf(`ejabberd_api of %s: want a table, e.g. ejabberd_api = { url = %q }`, host, ejabberdapi.DefaultURL)
	}
	str := func(k string) string { v, _ := opts[k].(string); return v }
	file := func(k string) (string, error) {
		path := str(k)
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("ejabberd_api of %s: %s: %w", host, k, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	api := &ejabberdapi.Config{URL: str("url"), Token: str("token"), User: str("user"), Password: str("password")}
	var err error
	if api.Token == "" {
		if api.Token, err = file("token_file"); err != nil {
			return err
		}
	}
	if api.Password == "" {
		if api.Password, err = file("password_file"); err != nil {
			return err
		}
	}
	if api.Timeout, err = secondsIn(opts, "ejabberd_api", host, "timeout", ejabberdapi.DefaultTimeout); err != nil {
		return err
	}
	if s.sessionsInterval, err = secondsIn(opts, "ejabberd_api", host, "sessions_interval", 5*time.Second); err != nil {
		return err
	}
	if v, ok := opts["shared"]; ok {
		if s.shared, ok = v.(bool); !ok {
			return fmt.Errorf("ejabberd_api of %s: shared must be true or false", host)
		}
	}
	if _, err := ejabberdapi.New(*api); err != nil {
		return fmt.Errorf("ejabberd_api of %s: %w", host, err)
	}
	s.api = api
	return nil
}

// seconds reads a positive duration in seconds from component_client.
func seconds(opts map[string]any, host, key string, def time.Duration) (time.Duration, error) {
	return secondsIn(opts, "component_client", host, key, def)
}

// secondsIn reads a positive duration in seconds from option table of host.
func secondsIn(opts map[string]any, option, host, key string, def time.Duration) (time.Duration, error) {
	v, ok := opts[key]
	if !ok {
		return def, nil
	}
	secs, ok := v.(float64)
	if !ok || secs <= 0 {
		return 0, fmt.Errorf("%s of %s: %s must be a positive number of seconds", option, host, key)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// onlyVirtualHost reports whether host is the config's one enabled
// VirtualHost and no host has a component_client option of its own.
func onlyVirtualHost(cfg *config.Config, host string) bool {
	n := 0
	for _, h := range cfg.Hosts {
		if h.Kind != config.VirtualHost || !cfg.HostEnabled(h.Name) {
			continue
		}
		if _, has := h.Options["component_client"]; has {
			return false
		}
		n++
	}
	return n == 1 && cfg.Host(host) != nil && cfg.Host(host).Kind == config.VirtualHost
}
