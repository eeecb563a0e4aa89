package host

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/prosodytest"
	"github.com/modhost/modhost/internal/xmpptest"
)

// rosterIOPlugin reads and writes stores through module:open_store, so the
// internal driver is all that stands between it and the files.
const rosterIOPlugin = `local roster = module:open_store("roster");
local accounts = module:open_store("accounts");
module:hook("read-contact", function (event)
	local r = roster:get(event.user);
	local c = r and r[event.contact];
	if not c then return "none"; end
	local groups = {};
	for g in pairs(c.groups or {}) do groups[#groups + 1] = g; end
	table.sort(groups);
	return (c.name or "") .. "|" .. c.subscription .. "|" .. table.concat(groups, ",")
		.. "|" .. type(r[false]);
end);
module:hook("read-password", function (event)
	local a = accounts:get(event.user);
	return a and a.password or "none";
end);
module:hook("add-contact", function (event)
	local r = roster:get(event.user) or { [false] = { version = 1, pending = {} } };
	r[event.contact] = { subscription = "both", name = event.name, groups = { [event.group] = true } };
	assert(roster:set(event.user, r));
	return true;
end);
`

// modhost's internal storage and Prosody 0.12's share a data folder: what
// Prosody wrote (a roster set by a client, an account made by prosodyctl)
// modhost reads, and a roster modhost wrote is what Prosody serves the
// user at the next login.
func TestInternalStorageSharesProsodysDataFolder(t *testing.T) {
	prosodytest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := prosodytest.Start(t, prosodytest.Options{Users: map[string]string{"alice": "pw"}})
	alice, err := xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: s.Host, Username: "alice", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := alice.IQ(ctx, "set", "", `<query xmlns='jabber:iq:roster'><item jid='bob@example.com' name='Bob'><group>Friends</group></item></query>`)
	if err != nil || res.Attr("type") != "result" {
		t.Fatalf("roster set on Prosody: %v %v", res, err)
	}
	alice.Close()
	if out, err := exec.CommandContext(ctx, "prosodyctl", "--config", s.ConfigPath, "register", "carol", s.Host, "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("prosodyctl register: %v\n%s", err, out)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_roster_io.lua"), []byte(rosterIOPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := New(Options{
		ConfigSource: "data_path = \"" + s.DataPath + "\"\nstorage = \"internal\"\nplugin_paths = { \"" + dir + "\" }\n" +
			"VirtualHost \"" + s.Host + "\"\n\tmodules_enabled = { \"roster_io\" }\n",
		ConfigName: filepath.Join(dir, "modhost.cfg.lua"), NoListen: true, Prosody: &ProsodyInstall{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if report, err := rt.Start(ctx); err != nil || !report.OK() {
		t.Fatalf("start: %v %+v", err, report)
	}
	if got := fire(t, rt, s.Host, "read-contact", map[string]any{"user": "alice", "contact": "bob@example.com"}); got != "Bob|none|Friends|table" {
		t.Errorf("Prosody's roster read by modhost: %v", got)
	}
	if got := fire(t, rt, s.Host, "read-password", map[string]any{"user": "carol"}); got != "s3cret" {
		t.Errorf("prosodyctl's account read by modhost: %v", got)
	}
	if got := fire(t, rt, s.Host, "add-contact", map[string]any{"user": "alice", "contact": "dave@example.com", "name": "Dave", "group": "Work"}); got != true {
		t.Fatalf("add-contact: %v", got)
	}
	if err := rt.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	if err := s.StartAgain(); err != nil {
		t.Fatal(err)
	}
	alice, err = xmpptest.Dial(ctx, xmpptest.Config{Addr: s.C2SAddr(), Domain: s.Host, Username: "alice", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	items, err := alice.Roster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byJID := map[string]xmpptest.RosterItem{}
	for _, it := range items {
		byJID[it.JID] = it
	}
	if bob := byJID["bob@example.com"]; bob.Name != "Bob" || !slices.Equal(bob.Groups, []string{"Friends"}) {
		t.Errorf("Prosody's own contact after modhost wrote the roster: %+v (roster %+v)", bob, items)
	}
	if dave := byJID["dave@example.com"]; dave.Name != "Dave" || dave.Subscription != "both" || !slices.Equal(dave.Groups, []string{"Work"}) {
		t.Errorf("the contact modhost wrote, as Prosody serves it: %+v (roster %+v)", dave, items)
	}
	s.AssertNoLuaErrors(t)
}
