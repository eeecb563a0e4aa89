package component

import (
	"reflect"
	"strings"
	"testing"

	"github.com/modhost/modhost/host/xmpp"
)

const delegatedGet = `<iq type='set' from='example.com' to='roster.example.com' id='srv1'><delegation xmlns='urn:xmpp:delegation:2'>` +
	`<forwarded xmlns='urn:xmpp:forward:0'><iq xmlns='jabber:client' type='get' from='alice@example.com/laptop' id='c1'>` +
	`<query xmlns='jabber:iq:roster'/></iq></forwarded></delegation></iq>`

func TestUnwrapDelegated(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		ok      bool
		ns      string
		forSelf bool
	}{
		{"Prosody's delegation:2 wrapper", delegatedGet, true, NSDelegation2, true},
		{"an older delegation:1 wrapper addressed to the asker's own bare JID",
			strings.ReplaceAll(strings.Replace(delegatedGet, "id='c1'", "id='c1' to='alice@example.com'", 1), "delegation:2", "delegation:1"), true, NSDelegation1, true},
		{"a request about another user's roster", strings.Replace(delegatedGet, "id='c1'", "id='c1' to='bob@example.com'", 1), true, NSDelegation2, false},
		{"a wrapper without forwarded", `<iq type='set' id='1'><delegation xmlns='urn:xmpp:delegation:2'/></iq>`, false, "", false},
		{"a get is never a delegation", strings.Replace(delegatedGet, "type='set'", "type='get'", 1), false, "", false},
		{"an ordinary iq", `<iq type='set' id='1'><query xmlns='jabber:iq:roster'/></iq>`, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := UnwrapDelegated(parseOne(t, tt.in))
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if d.NS != tt.ns || attr(d.IQ, "id") != "c1" || d.IQ.NS != "" || d.ForSelf() != tt.forSelf {
				t.Errorf("got ns %s iq %s forSelf %v", d.NS, mustMarshal(t, d.IQ), d.ForSelf())
			}
		})
	}
}

func TestUnwrapDelegatedGivesTheClientStreamForm(t *testing.T) {
	e := parseOne(t, `<iq type='set' from='example.com' id='s'><delegation xmlns='urn:xmpp:delegation:2'><forwarded xmlns='urn:xmpp:forward:0'>`+
		`<iq xmlns='jabber:client' type='set' from='a@b/c' id='q'><query xmlns='jabber:iq:roster'><item jid='x@y'/></query><foo/></iq></forwarded></delegation></iq>`)
	before := mustMarshal(t, e)
	d, _ := UnwrapDelegated(e)
	want := `<iq type='set' from='a@b/c' id='q'><query xmlns='jabber:iq:roster'><item jid='x@y'/></query><foo/></iq>`
	if got := mustMarshal(t, d.IQ); got != want {
		t.Errorf("IQ = %s, want %s", got, want)
	}
	if q := child(d.IQ, "query", NSRoster); q == nil || child(q, "item", NSRoster) == nil {
		t.Error("the payload lost its namespace")
	}
	if foo := child(d.IQ, "foo", ""); foo == nil || foo.NS != "" {
		t.Errorf("a jabber:client child kept its namespace: %+v", foo)
	}
	if after := mustMarshal(t, e); after != before {
		t.Errorf("unwrapping changed the server's stanza: %s", after)
	}
}

func TestDelegatedReplyIsWrappedAsModDelegationExpects(t *testing.T) {
	d, _ := UnwrapDelegated(parseOne(t, delegatedGet))
	// A reply built like Lua's st.reply: no namespace, to and id taken from the request.
	answer := add(Result(d.IQ), add(elem("query", NSRoster), elem("item", "", "jid", "bob@example.com")))
	got, err := d.Reply(answer)
	if err != nil {
		t.Fatal(err)
	}
	want := `<iq type='result' from='roster.example.com' to='example.com' id='srv1'><delegation xmlns='urn:xmpp:delegation:2'>` +
		`<forwarded xmlns='urn:xmpp:forward:0'><iq xmlns='jabber:client' type='result' id='c1' to='alice@example.com/laptop'>` +
		`<query xmlns='jabber:iq:roster'><item jid='bob@example.com'/></query></iq></forwarded></delegation></iq>`
	if s := mustMarshal(t, got); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
	if answer.NS != "" {
		t.Error("Reply changed the caller's answer")
	}
	errAnswer, err := d.Reply(ErrorReply(d.IQ, "cancel", "forbidden", "not yours"))
	if err != nil {
		t.Fatal(err)
	}
	inner := child(child(child(errAnswer, "delegation", NSDelegation2), "forwarded", NSForward), "iq", NSClient)
	if se := ParseStanzaError(inner); se == nil || se.Type != "cancel" || se.Condition != "forbidden" || se.Text != "not yours" {
		t.Errorf("error answer = %s", mustMarshal(t, errAnswer))
	}
}

func TestDelegatedReplyRefusesWhatTheServerWouldDrop(t *testing.T) {
	d, _ := UnwrapDelegated(parseOne(t, delegatedGet))
	tests := []struct {
		name   string
		answer *xmpp.Element
		want   string
	}{
		{"another id", elem("iq", "", "type", "result", "id", "zz"), "id"},
		{"another addressee", elem("iq", "", "type", "result", "to", "bob@example.com/x"), "asker"},
		{"a result with two children", add(elem("iq", "", "type", "result"), elem("a", "urn:a"), elem("b", "urn:b")), "at most one"},
		{"an error with three children", add(elem("iq", "", "type", "error"), elem("a", "urn:a"), elem("b", "urn:b"), elem("c", "urn:c")), "at most two"},
		{"a set", elem("iq", "", "type", "set"), "type"},
		{"not an iq", elem("message", ""), "not an iq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Reply(tt.answer)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseDelegations(t *testing.T) {
	got, ok := ParseDelegations(parseOne(t, `<message from='example.com'><delegation xmlns='urn:xmpp:delegation:2'>`+
		`<delegated namespace='jabber:iq:roster'/><delegated namespace='urn:x'><attribute name='node'/></delegated></delegation></message>`))
	if !ok || !reflect.DeepEqual(got, []string{"jabber:iq:roster", "urn:x"}) {
		t.Errorf("ParseDelegations = %v, %v", got, ok)
	}
	if _, ok := ParseDelegations(parseOne(t, `<message><body/></message>`)); ok {
		t.Error("an ordinary message parsed as a delegation advertisement")
	}
}

func TestDelegationDiscoAnswersFeaturesOnly(t *testing.T) {
	c := &Conn{cfg: Config{}.withDefaults()}
	tests := []struct {
		name string
		in   string
		want string // "" for not answered here
	}{{
		name: "the server node gets the namespace as feature",
		in:   `<iq type='get' from='example.com' to='roster.example.com' id='d1'><query xmlns='http://jabber.org/protocol/disco#info' node='urn:xmpp:delegation:2::jabber:iq:roster'/></iq>`,
		want: `<iq type='result' id='d1' from='roster.example.com' to='example.com'><query xmlns='http://jabber.org/protocol/disco#info' node='urn:xmpp:delegation:2::jabber:iq:roster'>` +
			`<feature var='jabber:iq:roster'/></query></iq>`,
	}, {
		name: "the account node gets an empty answer",
		in:   `<iq type='get' from='example.com' to='roster.example.com' id='d2'><query xmlns='http://jabber.org/protocol/disco#info' node='urn:xmpp:delegation:2:bare:jabber:iq:roster'/></iq>`,
		want: `<iq type='result' id='d2' from='roster.example.com' to='example.com'><query xmlns='http://jabber.org/protocol/disco#info' node='urn:xmpp:delegation:2:bare:jabber:iq:roster'/></iq>`,
	}, {
		name: "a user's disco of the component is left to the handler",
		in:   `<iq type='get' from='alice@example.com/x' to='roster.example.com' id='d3'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.delegationDisco(parseOne(t, tt.in))
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("answered %s", mustMarshal(t, got))
			case tt.want != "" && (got == nil || mustMarshal(t, got) != tt.want):
				t.Errorf("got  %v\nwant %s", got, tt.want)
			}
		})
	}
}
