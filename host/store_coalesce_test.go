package host

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

const internalStoreConfig = `
VirtualHost "example.com"
	storage = "internal"
`

// saveEachItem runs, in one loop job, what a roster refresh replacing a
// roster does: save_roster of every contact on its own, through the map
// view, then (in the same job) reads the roster back through the keyval
// view and returns how many contacts it holds.
func saveEachItem(t *testing.T, rt *Runtime, n int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var read int
	err := rt.Loop().Do(ctx, func(L *glua.LState) error {
		rets, err := lua.DoChunk(L, `
			local rm = require "core.rostermanager"
			local n = ...
			local roster = rm.load_roster("alice", "example.com")
			for i = 1, n do
				local jid = "c" .. i .. "@example.net"
				roster[jid] = { subscription = "both", name = "Contact " .. i, groups = { G = true } }
				assert(rm.save_roster("alice", "example.com", roster, jid))
			end
			local stored = require "core.storagemanager".open("example.com", "roster", "keyval"):get("alice")
			local count = 0
			for k in pairs(stored) do if k then count = count + 1 end end
			return count`, "test", 1, glua.LNumber(n))
		if err != nil {
			return err
		}
		read = int(glua.LVAsNumber(rets[0]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return read
}

// A roster saved contact by contact on the internal (file) driver is
// written once, not once per contact (issue 13, point 1: each write
// serialised and fsynced the whole roster, n² for n contacts), and a read
// in the same job sees every contact.
func TestInternalStoreCoalescesItemSaves(t *testing.T) {
	rt, _ := newTestRuntime(t, internalStoreConfig)
	const n = 300
	before := rt.files.writes.Load()
	if got := saveEachItem(t, rt, n); got != n {
		t.Fatalf("keyval read after %d item saves holds %d contacts", n, got)
	}
	// The read wrote what was pending; nothing more is written after it.
	fire(t, rt, "example.com", "no-such-event", nil)
	if writes := rt.files.writes.Load() - before; writes > 2 {
		t.Fatalf("%d item saves wrote the roster file %d times, want at most 2", n, writes)
	}
}

// Item saves still pending when the runtime stops are written: the flush is
// a job queued at the first save, and the loop runs queued jobs before it
// closes.
func TestInternalStoreItemSavesSurviveStop(t *testing.T) {
	rt, _ := newTestRuntime(t, internalStoreConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := rt.Loop().Do(ctx, func(L *glua.LState) error {
		_, err := lua.DoChunk(L, `
			local rm = require "core.rostermanager"
			local roster = rm.load_roster("bob", "example.com")
			roster["x@example.net"] = { subscription = "both", groups = {} }
			assert(rm.save_roster("bob", "example.com", roster, "x@example.net"))`, "test", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(rt.files.file("example.com", "roster", "bob"))
	if err != nil {
		t.Fatalf("roster file after stop: %v", err)
	}
	if !strings.HasPrefix(string(raw), "return {") || !strings.Contains(string(raw), `["x@example.net"]`) {
		t.Fatalf("roster file after stop lacks the saved contact: %s", raw)
	}
}
