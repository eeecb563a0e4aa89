package ejabberdapi

import (
	"context"
	"fmt"
)

// ConnectedUsers lists the full JIDs of every session on host
// (connected_users_vhost), cluster-wide. ejabberd drops a session within
// milliseconds of its TCP connection closing, with or without an
// unavailable presence (measured on 23.01); a client whose socket stays open
// stays listed until the server's keepalive, if any, closes it.
func (c *Client) ConnectedUsers(ctx context.Context, host string) ([]string, error) {
	var jids []string
	if err := c.Call(ctx, "connected_users_vhost", map[string]string{"host": host}, &jids); err != nil {
		return nil, err
	}
	return jids, nil
}

// UserResources lists the resources user@host is online with
// (user_resources).
func (c *Client) UserResources(ctx context.Context, user, host string) ([]string, error) {
	var res []string
	if err := c.Call(ctx, "user_resources", map[string]string{"user": user, "host": host}, &res); err != nil {
		return nil, err
	}
	return res, nil
}

// SendStanza routes stanza (serialised XML, one element) from one JID to
// another as if from sent it (send_stanza): ejabberd's router, not a
// session, so it reaches the addressee's server-side handling exactly as a
// client's would.
func (c *Client) SendStanza(ctx context.Context, from, to, stanza string) error {
	return c.rescode(ctx, "send_stanza", map[string]string{"from": from, "to": to, "stanza": stanza})
}

// Probe sends a presence probe from user's bare JID to contact (RFC 6121
// §4.3): the server answers it with contact's current presence, delivered to
// user's online resources, when the contact's item says user may see it.
// add_rosteritem sends none, so this is how a user sees a contact it was just
// given at once.
func (c *Client) Probe(ctx context.Context, userBare, contact string) error {
	if err := c.SendStanza(ctx, userBare, contact, fmt.Sprintf("<presence type='probe' from='%s' to='%s'/>", xmlAttr(userBare), xmlAttr(contact))); err != nil {
		return fmt.Errorf("probe %s for %s: %w", contact, userBare, err)
	}
	return nil
}
