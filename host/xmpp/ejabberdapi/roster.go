package ejabberdapi

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Item is one contact of a user's roster as ejabberd stores it.
type Item struct {
	JID          string // the contact's bare JID
	Name         string
	Subscription string   // none, to, from or both
	Ask          string   // "subscribe" when a request of the owner is pending
	Groups       []string // sorted
}

// GroupSeparator is how add_rosteritem's group argument separates several
// groups: "A;B" stores groups A and B (a JSON list is stored as one group,
// its strings run together). A group name cannot hold it.
const GroupSeparator = ";"

// GroupSubstitute replaces GroupSeparator inside a group name written by
// AddRosterItem, so "a;b" is stored as the one group "a,b" rather than
// split into "a" and "b".
const GroupSubstitute = ","

// StoredGroup is the name ejabberd stores for group g when AddRosterItem
// writes it.
func StoredGroup(g string) string { return strings.ReplaceAll(g, GroupSeparator, GroupSubstitute) }

// AddRosterItem stores contact it in user@host's roster (add_rosteritem),
// replacing what was there (calling it again renames and regroups), and
// ejabberd pushes the item to user's online resources.
//
// Traps, measured on 23.01: the contact's own roster is not touched; no
// presence probe is sent, so user does not learn the contact's presence
// until its next broadcast (see Probe); the subscription is not validated by
// ejabberd (it is here); an unknown host is a 500 "internal_error"; a group
// name holding GroupSeparator is written with GroupSubstitute instead.
func (c *Client) AddRosterItem(ctx context.Context, user, host string, it Item) error {
	cuser, chost, ok := splitBare(it.JID)
	if !ok {
		return fmt.Errorf("ejabberd API add_rosteritem: contact %q is not a bare JID", it.JID)
	}
	switch it.Subscription {
	case "none", "to", "from", "both":
	default:
		return fmt.Errorf("ejabberd API add_rosteritem: subscription %q (want none, to, from or both: ejabberd stores any word)", it.Subscription)
	}
	groups := make([]string, 0, len(it.Groups))
	for _, g := range it.Groups {
		if g != "" {
			groups = append(groups, StoredGroup(g))
		}
	}
	return c.rescode(ctx, "add_rosteritem", map[string]string{
		"localuser": user, "localhost": host,
		"user": cuser, "host": chost,
		"nick": it.Name, "group": strings.Join(groups, GroupSeparator), "subs": it.Subscription,
	})
}

// DeleteRosterItem removes contact from user@host's roster
// (delete_rosteritem); ejabberd pushes the removal to user's resources.
//
// Trap, measured on 23.01: the removal is two-sided, as a client's own
// remove is (RFC 6121 §2.5.2): the CONTACT's item for user is downgraded to
// none (kept), and the contact is sent unsubscribe and unsubscribed (its
// clients see pushes to, then none) and user's unavailable — when user's
// item carries a subscription. Setting the item to subscription none first
// (AddRosterItem writes only user's side) leaves the contact untouched:
// host/link's writer removes that way.
func (c *Client) DeleteRosterItem(ctx context.Context, user, host, contact string) error {
	cuser, chost, ok := splitBare(contact)
	if !ok {
		return fmt.Errorf("ejabberd API delete_rosteritem: contact %q is not a bare JID", contact)
	}
	return c.rescode(ctx, "delete_rosteritem", map[string]string{
		"localuser": user, "localhost": host, "user": cuser, "host": chost,
	})
}

// GetRoster reads user@host's roster (get_roster). ejabberd answers one entry
// per contact and group (a contact in two groups comes twice, one with no
// group once with group ""): they are merged into one Item per contact,
// sorted by JID.
func (c *Client) GetRoster(ctx context.Context, user, host string) ([]Item, error) {
	var entries []struct {
		JID          string `json:"jid"`
		Nick         string `json:"nick"`
		Subscription string `json:"subscription"`
		Ask          string `json:"ask"`
		Group        string `json:"group"`
	}
	if err := c.Call(ctx, "get_roster", map[string]string{"user": user, "server": host}, &entries); err != nil {
		return nil, err
	}
	byJID := map[string]*Item{}
	var out []Item
	for _, e := range entries {
		it, seen := byJID[e.JID]
		if !seen {
			it = &Item{JID: e.JID, Name: e.Nick, Subscription: e.Subscription}
			if e.Ask == "out" || e.Ask == "both" {
				it.Ask = "subscribe"
			}
			byJID[e.JID] = it
		}
		if e.Group != "" {
			it.Groups = append(it.Groups, e.Group)
		}
	}
	for _, it := range byJID {
		sort.Strings(it.Groups)
		out = append(out, *it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out, nil
}

// splitBare splits a bare JID into its localpart and domain.
func splitBare(jid string) (user, host string, ok bool) {
	user, host, ok = strings.Cut(jid, "@")
	if !ok || user == "" || host == "" || strings.Contains(host, "/") {
		return "", "", false
	}
	return user, host, true
}
