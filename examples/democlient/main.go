// Command democlient is the XMPP client of `make run`: it logs in as one
// user, prints the roster the server gives it, then every roster push as it
// arrives, until interrupted. It shows, from a real client's side, a roster
// owned by the web app changing live.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/modhost/modhost/internal/xmpptest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5222", "the server's client port")
	domain := flag.String("domain", "localhost", "the XMPP domain")
	user := flag.String("user", "alice", "username")
	password := flag.String("password", "alice", "password")
	resource := flag.String("resource", "demo", "resource")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, err := xmpptest.Dial(dialCtx, xmpptest.Config{Addr: *addr, Domain: *domain, Username: *user, Password: *password, Resource: *resource})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "democlient:", err)
		os.Exit(1)
	}
	defer c.Close()
	who := *user + "'s client"
	rosterCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	items, err := c.Roster(rosterCtx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "democlient: roster:", err)
		os.Exit(1)
	}
	fmt.Printf("[%s] roster at login:\n", who)
	sort.Slice(items, func(i, j int) bool { return items[i].JID < items[j].JID })
	for _, it := range items {
		fmt.Printf("[%s]   %s\n", who, describe(it))
	}
	if err := c.SendPresence(ctx, "", ""); err != nil {
		fmt.Fprintln(os.Stderr, "democlient: presence:", err)
	}
	for {
		push, err := c.Next(ctx, func(e xmpptest.Element) bool {
			_, ok := e.Child("query", "jabber:iq:roster")
			return e.Is("iq", "set") && ok
		})
		if err != nil {
			return // interrupted or disconnected
		}
		for _, it := range xmpptest.RosterItems(push) {
			fmt.Printf("[%s] roster push: %s\n", who, describe(it))
		}
	}
}

func describe(it xmpptest.RosterItem) string {
	if it.Subscription == "remove" {
		return "- " + it.JID + " (removed)"
	}
	s := "+ " + it.JID
	if it.Name != "" {
		s += " \"" + it.Name + "\""
	}
	if len(it.Groups) > 0 {
		s += " [" + strings.Join(it.Groups, ", ") + "]"
	}
	return s + " subscription=" + it.Subscription
}
