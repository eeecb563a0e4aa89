package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/modhost/modhost/host/config"
	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/plugins"
)

// linkFlags are the command-line and environment overrides of a host's
// component_client option.
type linkFlags struct {
	addr, jid, secret, secretFile *string
}

func addLinkFlags(fs *flag.FlagSet) linkFlags {
	return linkFlags{
		addr:       fs.String("component-addr", os.Getenv("MODHOST_COMPONENT_ADDR"), "XMPP server's component address host:port (env MODHOST_COMPONENT_ADDR)"),
		jid:        fs.String("component-jid", os.Getenv("MODHOST_COMPONENT_JID"), "modhost's component JID (env MODHOST_COMPONENT_JID)"),
		secret:     fs.String("component-secret", os.Getenv("MODHOST_COMPONENT_SECRET"), "component secret (env MODHOST_COMPONENT_SECRET; prefer the file)"),
		secretFile: fs.String("component-secret-file", os.Getenv("MODHOST_COMPONENT_SECRET_FILE"), "file holding the component secret (env MODHOST_COMPONENT_SECRET_FILE)"),
	}
}

// cmdProsodySnippet prints, for each host with component_client, the
// server-side config that lets modhost link to it: Prosody's and ejabberd's.
func cmdProsodySnippet(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("prosody-snippet", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	pluginsDir := fs.String("plugins-dir", "", "folder where the server finds modhost's plugins (see `modhost export-plugins`); default: plugins/ next to the config")
	server := fs.String("server", "prosody", "prosody, ejabberd or both")
	if !parseFlags(fs, args, stderr) {
		return 2
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "modhost prosody-snippet: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "modhost: %v\n", err)
		return 1
	}
	dir := *pluginsDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(cfg.Path), "modhost-plugins")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	servers := []string{*server}
	if *server == "both" {
		servers = []string{"prosody", "ejabberd"}
	}
	found := 0
	for _, h := range cfg.Hosts {
		raw, _ := cfg.Get(h.Name, "component_client")
		cc, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		found++
		opts := component.SnippetOptions{Host: h.Name, PluginsDir: dir}
		opts.Component, _ = cc["jid"].(string)
		opts.Secret, _ = cc["secret"].(string)
		if opts.Secret == "" {
			if f, ok := cc["secret_file"].(string); ok {
				opts.Secret = "<the secret in " + f + ">"
			}
		}
		if p, ok := cc["port"].(float64); ok {
			opts.Port = int(p)
		}
		// The seed's setup (roster disabled here) is the delegated mode.
		for _, m := range cfg.Modules(h.Name).Disabled {
			if m == "roster" {
				opts.Mode = component.Delegated
			}
		}
		// With ejabberd_api, rosters on ejabberd are server-held (written
		// through the API) and its listener is where the url points.
		rawAPI, hasAPI := cfg.Get(h.Name, "ejabberd_api")
		apiOpts, _ := rawAPI.(map[string]any)
		if u, ok := apiOpts["url"].(string); ok {
			if parsed, err := url.Parse(u); err == nil {
				opts.APIPort, _ = strconv.Atoi(parsed.Port())
			}
		}
		for _, s := range servers {
			opts.Server = s
			mode := opts.Mode
			if s == "ejabberd" && hasAPI {
				opts.Mode = component.ServerHeld
			}
			text, err := component.Snippet(opts)
			opts.Mode = mode
			if err != nil {
				fmt.Fprintf(stderr, "modhost: %s: %v\n", h.Name, err)
				return 1
			}
			fmt.Fprintln(stdout, text)
		}
	}
	if found == 0 {
		fmt.Fprintf(stderr, "modhost prosody-snippet: no host in %s has component_client = { host = ...; port = ...; jid = ...; secret = ... }\n", *cfgPath)
		return 1
	}
	// Only Prosody loads modhost's plugins; ejabberd's YAML must stay free
	// of Lua comments so it can be saved and included as printed.
	if servers[0] == "prosody" {
		fmt.Fprintf(stdout, "-- Then write modhost's plugins where plugin_paths points:\n--   modhost export-plugins %s\n", strconv.Quote(dir))
	}
	return 0
}

// cmdExportPlugins writes the bundled plugins to a folder, for a server that
// must load one of them itself (block_subscriptions).
func cmdExportPlugins(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: modhost export-plugins DIR")
		return 2
	}
	dir := args[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "modhost: %v\n", err)
		return 1
	}
	err := fs.WalkDir(plugins.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(plugins.FS, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		fmt.Fprintln(stdout, dst)
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		fmt.Fprintf(stderr, "modhost: export plugins: %v\n", err)
		return 1
	}
	return 0
}
