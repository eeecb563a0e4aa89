package link

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

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
//     downgraded to none, the contact sent unsubscribe/unsubscribed): the
//     contact's item, read before the delete, is written back as it was;
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

// remove deletes contact from user's roster and undoes what
// delete_rosteritem does to the contact's own roster, when the contact is a
// user of this host: its item for user is read first and written back after
// (a web-app-owned roster says who the contact lists; a removal from user's
// side must not change it). The contact's clients still see it happen: pushes
// (to, none, then the item restored), user's unsubscribe and unsubscribed,
// and user's unavailable. A contact on another server cannot be restored.
func (w *apiWriter) remove(ctx context.Context, user, contact string) error {
	cuser, chost, _ := strings.Cut(contact, "@")
	var keep *ejabberdapi.Item
	if chost == w.host && cuser != "" {
		items, err := w.api.GetRoster(ctx, cuser, chost)
		if err != nil {
			return fmt.Errorf("read %s's roster before removing it from %s's: %w", contact, user, err)
		}
		for _, it := range items {
			if it.JID == user+"@"+w.host {
				it := it
				keep = &it
			}
		}
	}
	if err := w.api.DeleteRosterItem(ctx, user, w.host, contact); err != nil {
		return err
	}
	switch {
	case keep != nil:
		// Written back as ejabberd stores it: its groups are already what
		// StoredGroup made of them.
		if err := w.api.AddRosterItem(ctx, cuser, chost, *keep); err != nil {
			return fmt.Errorf("restore %s's item for %s after delete_rosteritem downgraded it: %w", contact, user, err)
		}
		w.log.Info("delete_rosteritem downgraded the contact's item too; restored it (its clients saw unsubscribe, unsubscribed and pushes)",
			"user", user, "contact", contact, "subscription", keep.Subscription)
	case chost != w.host:
		w.log.Info("removed a contact of another server: ejabberd sent it unsubscribe and unsubscribed (delete_rosteritem is two-sided)",
			"user", user, "contact", contact)
	}
	return nil
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
