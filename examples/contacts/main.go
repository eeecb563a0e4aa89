// Command contacts is a small web application that owns users' contact
// lists (rosters) for modhost's roster-admin port: modhost fetches
// GET /contacts/{user}, and contacts POSTs the changed usernames to
// modhost's refresh URL after every change made through its admin API or
// admin page. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "contacts:", err)
		os.Exit(1)
	}
}

// env returns the environment variable name, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func run(args []string) error {
	fs := flag.NewFlagSet("contacts", flag.ContinueOnError)
	listen := fs.String("listen", env("CONTACTS_LISTEN", "127.0.0.1:8080"), "address to serve on (env CONTACTS_LISTEN)")
	dataFile := fs.String("data", env("CONTACTS_DATA", "contacts.json"), "JSON file holding the rosters (env CONTACTS_DATA)")
	seed := fs.Bool("seed", false, "create the demo users alice, bob and carol (replacing their rosters)")
	domain := fs.String("domain", env("CONTACTS_DOMAIN", "example.com"), "XMPP domain of the demo users' JIDs (env CONTACTS_DOMAIN)")
	refreshURL := fs.String("refresh-url", env("CONTACTS_REFRESH_URL", ""), "modhost's refresh URL, e.g. http://127.0.0.1:5280/roster_admin/refresh; empty: do not refresh (env CONTACTS_REFRESH_URL)")
	secret := fs.String("secret", env("CONTACTS_SECRET", ""), "shared secret sent with refresh requests (env CONTACTS_SECRET)")
	secretHeader := fs.String("secret-header", env("CONTACTS_SECRET_HEADER", "Authorization"), `header carrying the secret; "Authorization" sends "Bearer <secret>" (env CONTACTS_SECRET_HEADER)`)
	objectGroups := fs.String("object-groups", env("CONTACTS_OBJECT_GROUPS", "alice"), `users whose groups are served as the original module reads them, {"Friends": true}, comma-separated; the others get arrays (env CONTACTS_OBJECT_GROUPS)`)
	refreshTimeout := fs.Duration("refresh-timeout", 30*time.Second, "how long to wait for modhost's answer to a refresh")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	store, err := OpenStore(*dataFile)
	if err != nil {
		return err
	}
	if *seed {
		rosters := seedRosters(*domain)
		users := make([]string, 0, len(rosters))
		for user := range rosters {
			users = append(users, user)
		}
		sort.Strings(users)
		for _, user := range users {
			if err := store.Replace(user, rosters[user]); err != nil {
				return fmt.Errorf("seed %s: %w", user, err)
			}
		}
		log.Info("seeded demo users", "users", users, "domain", *domain)
	}
	app := &App{
		Store: store,
		Refresher: &Refresher{
			URL:     *refreshURL,
			Secret:  *secret,
			Header:  *secretHeader,
			Timeout: *refreshTimeout,
			Client:  &http.Client{},
			Log:     log,
		},
		Log:          log,
		ObjectGroups: userSet(*objectGroups),
	}

	srv := &http.Server{Addr: *listen, Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("contacts serving", "listen", *listen, "data", *dataFile, "refresh_url", *refreshURL)
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", *listen, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// userSet reads a comma-separated list of usernames.
func userSet(list string) map[string]bool {
	set := map[string]bool{}
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" {
			set[u] = true
		}
	}
	return set
}
