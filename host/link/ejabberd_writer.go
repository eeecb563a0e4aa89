package link

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/modhost/modhost/host/xmpp/component"
	"github.com/modhost/modhost/host/xmpp/ejabberdapi"
)

// apiWriter writes rosters through ejabberd's admin API (add_rosteritem,
// delete_rosteritem, get_roster over mod_http_api), for a host with an
// ejabberd_api option. ejabberd pushes each change to the owner's online
// resources itself. It handles the API's traps (host/xmpp/ejabberdapi):
//   - add_rosteritem sends no presence probe: after each add, a probe from
//     the user's bare JID to the contact (send_stanza) brings the contact's
//     presence to the user's online resources at once;
//   - delete_rosteritem is two-sided (the contact's item for the user is
//     downgraded to none, the contact sent unsubscribe/unsubscribed) unless
//     the item has no subscription: it is set to none first (remove);
//   - a group name holding ';' is stored with ',' (ejabberd splits on ';').
type apiWriter struct {
	api  *ejabberdapi.Client
	host string
	log  *slog.Logger
}

func (w *apiWriter) name() string   { return "ejabberd admin API at " + w.api.URL() }
func (w *apiWriter) ready() bool    { return true } // failures are found at the call, and retried
func (w *apiWriter) canWrite() bool { return true }
func (w *apiWriter) canRead() bool  { return true }

func (w *apiWriter) stored(it component.RosterItem) component.RosterItem {
	groups := make([]string, 0, len(it.Groups))
	for _, g := range it.Groups {
		groups = append(groups, ejabberdapi.StoredGroup(g))
	}
	sort.Strings(groups)
	it.Groups = groups
	return it
}

func (w *apiWriter) write(ctx context.Context, user string, it component.RosterItem) error {
	if it.Subscription == "remove" {
		return w.remove(ctx, user, it.JID)
	}
	if err := w.api.AddRosterItem(ctx, user, w.host, ejabberdapi.Item{JID: it.JID, Name: it.Name,
		Subscription: orDefault(it.Subscription, "none"), Groups: it.Groups}); err != nil {
		return err
	}
	if it.Subscription == "both" || it.Subscription == "to" {
		// The user may see the contact: ask for its presence now (the
		// contact answers if its own item lets the user see it).
		if err := w.api.Probe(ctx, user+"@"+w.host, it.JID); err != nil {
			w.log.Debug("presence probe after a roster write not sent; the contact is seen at its next presence", "user", user, "contact", it.JID, "error", err)
		}
	}
	return nil
}

// remove deletes contact from user's roster without touching the
// contact's own: delete_rosteritem is two-sided when the item carries a
// subscription (ejabberd sends the contact unsubscribe and unsubscribed,
// downgrades the contact's item to none and pushes that to its clients), so
// user's item is first set to subscription none (add_rosteritem, which
// writes only user's side), and then deleted: with no subscription left,
// ejabberd sends the contact nothing. user's clients see a push none, then
// the removal. Reading the contact's item and writing it back instead (the
// first way done here) raced with the contact's own refresh when several
// modhost instances write the same cluster (shared): the older copy won.
func (w *apiWriter) remove(ctx context.Context, user, contact string) error {
	if err := w.api.AddRosterItem(ctx, user, w.host, ejabberdapi.Item{JID: contact, Subscription: "none"}); err != nil {
		return fmt.Errorf("drop the subscription before removing %s from %s's roster: %w", contact, user, err)
	}
	return w.api.DeleteRosterItem(ctx, user, w.host, contact)
}

func (w *apiWriter) read(ctx context.Context, user string) ([]component.RosterItem, error) {
	items, err := w.api.GetRoster(ctx, user, w.host)
	if err != nil {
		return nil, err
	}
	out := make([]component.RosterItem, 0, len(items))
	for _, it := range items {
		out = append(out, component.RosterItem{JID: it.JID, Name: it.Name, Subscription: it.Subscription, Ask: it.Ask, Groups: it.Groups})
	}
	return out, nil
}
