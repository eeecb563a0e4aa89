package xmpptest

import (
	"encoding/xml"
	"testing"
)

func TestRosterItemsParsesJIDNameSubscriptionAskAndGroups(t *testing.T) {
	for _, tc := range []struct {
		name, xml string
		want      []RosterItem
	}{
		{"empty result", `<iq type='result'/>`, nil},
		{"one item with groups", `<iq><query xmlns='jabber:iq:roster'><item jid='b@x' name='B' subscription='both'><group>G1</group><group>G2</group></item></query></iq>`,
			[]RosterItem{{JID: "b@x", Name: "B", Subscription: "both", Groups: []string{"G1", "G2"}}}},
		{"push of a removal", `<iq type='set'><query xmlns='jabber:iq:roster' ver='3'><item jid='c@x' subscription='remove'/></query></iq>`,
			[]RosterItem{{JID: "c@x", Subscription: "remove"}}},
		{"pending ask", `<iq><query xmlns='jabber:iq:roster'><item jid='d@x' subscription='none' ask='subscribe'/></query></iq>`,
			[]RosterItem{{JID: "d@x", Subscription: "none", Ask: "subscribe"}}},
		{"other namespace ignored", `<iq><query xmlns='urn:other'><item jid='e@x'/></query></iq>`, nil},
	} {
		var e Element
		if err := xml.Unmarshal([]byte(tc.xml), &e); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := RosterItems(e)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %+v want %+v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			g, w := got[i], tc.want[i]
			if g.JID != w.JID || g.Name != w.Name || g.Subscription != w.Subscription || g.Ask != w.Ask || len(g.Groups) != len(w.Groups) {
				t.Errorf("%s: item %d got %+v want %+v", tc.name, i, g, w)
				continue
			}
			for j := range g.Groups {
				if g.Groups[j] != w.Groups[j] {
					t.Errorf("%s: groups %v want %v", tc.name, g.Groups, w.Groups)
				}
			}
		}
	}
}
