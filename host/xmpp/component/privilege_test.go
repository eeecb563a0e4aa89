package component

import (
	"reflect"
	"strings"
	"testing"

	"github.com/modhost/modhost/host/xmpp"
)

// parseOne decodes a single stanza written as it arrives on the stream.
func parseOne(t *testing.T, s string) *xmpp.Element {
	t.Helper()
	got, _ := decodeAll(s, 0)
	if len(got) != 1 {
		t.Fatalf("could not decode %s", s)
	}
	return got[0]
}

func TestParsePrivileges(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   Privileges
		wantOK bool
	}{{
		name: "Prosody's privilege:2 with nested iq namespaces",
		// mod_privilege nests each <namespace/> in the previous one.
		in: `<message from='example.com' to='roster.example.com'><privilege xmlns='urn:xmpp:privilege:2'>` +
			`<perm access='roster' type='both'/><perm access='presence' type='managed_entity'/>` +
			`<perm access='iq'><namespace ns='jabber:iq:roster' type='both'><namespace ns='urn:x' type='get'/></namespace></perm>` +
			`</privilege></message>`,
		want: Privileges{NS: NSPrivilege2, Server: "example.com", Roster: "both", Presence: "managed_entity",
			IQ: map[string]string{"jabber:iq:roster": "both", "urn:x": "get"}},
		wantOK: true,
	}, {
		name: "ejabberd's privilege:1 with message permission",
		in: `<message from='example.com'><privilege xmlns='urn:xmpp:privilege:1'>` +
			`<perm access='roster' type='get'/><perm access='message' type='outgoing'/><perm access='presence' type='roster'/>` +
			`</privilege></message>`,
		want:   Privileges{NS: NSPrivilege1, Server: "example.com", Roster: "get", Message: "outgoing", Presence: "roster"},
		wantOK: true,
	}, {
		name:   "an empty advertisement grants nothing",
		in:     `<message from='example.com'><privilege xmlns='urn:xmpp:privilege:2'/></message>`,
		want:   Privileges{NS: NSPrivilege2, Server: "example.com"},
		wantOK: true,
	}, {
		name: "a namespace without a type is left out",
		in: `<message from='example.com'><privilege xmlns='urn:xmpp:privilege:2'>` +
			`<perm access='iq'><namespace ns='urn:none'/></perm></privilege></message>`,
		want:   Privileges{NS: NSPrivilege2, Server: "example.com", IQ: map[string]string{}},
		wantOK: true,
	}, {
		name: "a privilege element in another namespace is not an advertisement",
		in:   `<message from='example.com'><privilege xmlns='urn:xmpp:privilege:0'><perm access='roster' type='both'/></privilege></message>`,
	}, {
		name: "an ordinary message is not an advertisement",
		in:   `<message from='alice@example.com'><body>hi</body></message>`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParsePrivileges(parseOne(t, tt.in))
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePrivileges = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestPrivilegesPermissions(t *testing.T) {
	tests := []struct {
		p                       Privileges
		get, set, presence, iqs bool
	}{
		{Privileges{}, false, false, false, false},
		{Privileges{Roster: "get", Presence: "roster"}, true, false, true, false},
		{Privileges{Roster: "set", Presence: "none", IQ: map[string]string{NSRoster: "get"}}, false, true, false, false},
		{Privileges{Roster: "both", Presence: "managed_entity", IQ: map[string]string{NSRoster: "both"}}, true, true, true, true},
		{Privileges{IQ: map[string]string{NSRoster: "set"}}, false, false, false, true},
	}
	for _, tt := range tests {
		if tt.p.CanGetRoster() != tt.get || tt.p.CanSetRoster() != tt.set || tt.p.SeesPresence() != tt.presence || tt.p.CanSendIQ(NSRoster, "set") != tt.iqs {
			t.Errorf("%+v: get %v set %v presence %v iq-set %v", tt.p, tt.p.CanGetRoster(), tt.p.CanSetRoster(), tt.p.SeesPresence(), tt.p.CanSendIQ(NSRoster, "set"))
		}
	}
}

func TestRosterBuilders(t *testing.T) {
	tests := []struct {
		name string
		in   *xmpp.Element
		want string
	}{{
		name: "roster get goes from the component's bare JID to the user's bare JID",
		in:   RosterGet("roster.example.com", "alice@example.com/laptop"),
		want: `<iq type='get' from='roster.example.com' to='alice@example.com'><query xmlns='jabber:iq:roster'/></iq>`,
	}, {
		name: "roster set carries exactly one item",
		in:   RosterSet("roster.example.com", "alice@example.com", RosterItem{JID: "bob@example.com", Name: "Bob", Subscription: "both", Groups: []string{"A", "B"}}),
		want: `<iq type='set' from='roster.example.com' to='alice@example.com'><query xmlns='jabber:iq:roster'>` +
			`<item jid='bob@example.com' name='Bob' subscription='both'><group>A</group><group>B</group></item></query></iq>`,
	}, {
		name: "a removal",
		in:   RosterSet("roster.example.com", "alice@example.com", RosterItem{JID: "bob@example.com", Subscription: "remove"}),
		want: `<iq type='set' from='roster.example.com' to='alice@example.com'><query xmlns='jabber:iq:roster'><item jid='bob@example.com' subscription='remove'/></query></iq>`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustMarshal(t, tt.in); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseRosterReadsItemsAndGroups(t *testing.T) {
	iq := parseOne(t, `<iq type='result'><query xmlns='jabber:iq:roster'><item jid='a@b' name='A' subscription='both' ask='subscribe'><group>G1</group><group>G2</group></item><item jid='c@d'/></query></iq>`)
	want := []RosterItem{{JID: "a@b", Name: "A", Subscription: "both", Ask: "subscribe", Groups: []string{"G1", "G2"}}, {JID: "c@d"}}
	if got := ParseRoster(iq); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseRoster = %+v", got)
	}
}

func TestRosterPushIsWrappedAsModPrivilegeExpects(t *testing.T) {
	push, err := RosterPush("roster.example.com", "alice@example.com/laptop", "p1", RosterItem{JID: "bob@example.com", Subscription: "both"})
	if err != nil {
		t.Fatal(err)
	}
	want := `<iq type='set' from='roster.example.com' to='alice@example.com'><privileged_iq xmlns='urn:xmpp:privilege:2'>` +
		`<iq xmlns='jabber:client' type='set' to='alice@example.com/laptop' id='p1' from='alice@example.com'>` +
		`<query xmlns='jabber:iq:roster'><item jid='bob@example.com' subscription='both'/></query></iq></privileged_iq></iq>`
	if got := mustMarshal(t, push); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestPrivilegedIQRefusesWhatModPrivilegeForbids(t *testing.T) {
	payload := func() *xmpp.Element { return elem("query", NSRoster) }
	tests := []struct {
		name  string
		user  string
		inner *xmpp.Element
		want  string
	}{
		{"not an iq", "a@b", elem("message", ""), "not an iq"},
		{"a result", "a@b", add(elem("iq", "", "type", "result", "id", "1"), payload()), "type"},
		{"a full JID as user", "a@b/r", add(elem("iq", "", "type", "set", "id", "1"), payload()), ""},
		{"a domain as user", "b", add(elem("iq", "", "type", "set", "id", "1"), payload()), "bare JID"},
		{"a foreign from", "a@b", add(elem("iq", "", "type", "set", "id", "1", "from", "c@b"), payload()), "inner from"},
		{"no id", "a@b", add(elem("iq", "", "type", "set"), payload()), "no id"},
		{"no payload", "a@b", elem("iq", "", "type", "set", "id", "1"), "exactly one payload"},
		{"two payloads", "a@b", add(elem("iq", "", "type", "set", "id", "1"), payload(), payload()), "exactly one payload"},
		{"text beside the payload", "a@b", add(elem("iq", "", "type", "set", "id", "1"), payload(), xmpp.Text(" ")), "exactly one payload"},
		{"a payload without namespace", "a@b", add(elem("iq", "", "type", "set", "id", "1"), elem("query", "")), "no xmlns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PrivilegedIQ("c.b", tt.user, tt.inner)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want none (the resource is dropped)", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestPrivilegedIQLeavesTheCallersStanzaAlone(t *testing.T) {
	inner := add(elem("iq", "", "type", "set", "id", "1"), elem("query", NSRoster))
	before := mustMarshal(t, inner)
	if _, err := PrivilegedIQ("c.b", "a@b", inner); err != nil {
		t.Fatal(err)
	}
	if after := mustMarshal(t, inner); after != before {
		t.Errorf("inner changed: %s → %s", before, after)
	}
}

func TestUnwrapPrivilegedResult(t *testing.T) {
	res := parseOne(t, `<iq type='result' from='alice@example.com' id='x'><privilege xmlns='urn:xmpp:privilege:2'><forwarded xmlns='urn:xmpp:forward:0'><iq xmlns='jabber:client' type='result' id='p1'/></forwarded></privilege></iq>`)
	got := UnwrapPrivilegedResult(res)
	if got == nil || attr(got, "id") != "p1" || got.NS != "" {
		t.Fatalf("unwrapped %v", got)
	}
	if UnwrapPrivilegedResult(parseOne(t, `<iq type='result' id='x'/>`)) != nil {
		t.Error("a bare result unwrapped to something")
	}
}

func TestPrivilegedMessage(t *testing.T) {
	msg := add(elem("message", "", "from", "alice@example.com", "to", "bob@example.com", "type", "chat"),
		add(elem("body", ""), xmpp.Text("hi")))
	got, err := PrivilegedMessage("", "roster.example.com", msg)
	if err != nil {
		t.Fatal(err)
	}
	want := `<message from='roster.example.com' to='example.com'><privilege xmlns='urn:xmpp:privilege:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<message xmlns='jabber:client' from='alice@example.com' to='bob@example.com' type='chat'><body>hi</body></message></forwarded></privilege></message>`
	if s := mustMarshal(t, got); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
	for _, from := range []string{"", "example.com", "alice@example.com/laptop"} {
		bad := elem("message", "", "from", from)
		if _, err := PrivilegedMessage("", "roster.example.com", bad); err == nil {
			t.Errorf("message from %q accepted; the server only sends from users' bare JIDs", from)
		}
	}
}
