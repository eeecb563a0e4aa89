package xmpptest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
)

const nsComponent = "jabber:component:accept"

// ComponentConfig says where an external component connects (XEP-0114).
type ComponentConfig struct {
	Addr   string // host:port of the server's component listener
	Domain string // the component's JID
	Secret string
}

// DialComponent connects as an external component and completes the
// XEP-0114 handshake (sha1 of stream id + secret). The returned Client
// sends and receives stanzas like a c2s one; it has no roster.
func DialComponent(ctx context.Context, cfg ComponentConfig) (*Client, error) {
	return open(ctx, cfg.Addr, cfg.Domain, func(c *Client) error {
		if err := c.handshake(cfg); err != nil {
			return fmt.Errorf("component %s: %w", cfg.Domain, err)
		}
		return nil
	})
}

func (c *Client) handshake(cfg ComponentConfig) error {
	header := `<?xml version='1.0'?><stream:stream to='` + escape(cfg.Domain) +
		`' xmlns='` + nsComponent + `' xmlns:stream='` + nsStream + `'>`
	if err := c.writeString(header); err != nil {
		return err
	}
	var id string
	for id == "" {
		tok, err := c.dec.Token()
		if err != nil {
			return fmt.Errorf("read stream header: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "stream" {
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					id = a.Value
				}
			}
			if id == "" {
				return fmt.Errorf("stream header without id")
			}
		}
	}
	sum := sha1.Sum([]byte(id + cfg.Secret))
	if err := c.writeString(`<handshake>` + hex.EncodeToString(sum[:]) + `</handshake>`); err != nil {
		return err
	}
	answer, err := c.readElement()
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if answer.Name() != "handshake" {
		return fmt.Errorf("handshake refused: %s", answer)
	}
	return nil
}
