package link

import (
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/host/xmpp"
	"github.com/modhost/modhost/host/xmpp/component"
)

func (b *bridge) routeOut(L *glua.LState, st *glua.LTable) {
	e, err := compat.StanzaToElement(L, st)
	if err != nil {
		b.log.Warn("stanza from a plugin not usable", "error", err)
		return
	}
	b.routeOutElement(e)
}

// routeOutElement is routeOut for a stanza built in Go.
func (b *bridge) routeOutElement(e *xmpp.Element) {
	from := attrOf(e, "from")
	if from == "" {
		from = b.cfg.JID
		e.Attr = append(e.Attr, xmlAttr("from", from))
	}
	domain := component.DomainOf(from)
	switch {
	case domain == b.cfg.JID || strings.HasSuffix(domain, "."+b.cfg.JID):
		if err := b.link.Send(e); err != nil {
			b.log.Debug("stanza not sent", "error", err)
		}
		return
	case e.Name == "message" && domain == b.host && strings.Contains(from, "@") && b.privs.Message == component.AccessOutgoing:
		for i, a := range e.Attr {
			if a.Name.Space == "" && a.Name.Local == "from" {
				e.Attr[i].Value = bareOf(from)
			}
		}
		wrapped, err := component.PrivilegedMessage(b.privs.NS, b.cfg.JID, e)
		if err == nil {
			err = b.link.Send(wrapped)
		}
		if err != nil {
			b.log.Debug("message on behalf of a user not sent", "from", from, "error", err)
		}
		return
	}
	b.log.Debug("stanza dropped: a component cannot send it on the server's behalf", "name", e.Name, "from", from, "to", attrOf(e, "to"))
}
