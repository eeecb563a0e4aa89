package host_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/modhost/modhost/host"
)

// A Go program embeds modhost: it loads a config (here from a string), starts
// the runtime, fires an event into a plugin, logs a user in and reads the
// roster the host answers, then stops.
func Example() {
	dir, _ := filepath.Abs("testdata")
	rt, err := host.New(host.Options{
		ConfigName: filepath.Join(dir, "embed.cfg.lua"),
		ConfigSource: `
			plugin_paths = { "plugins" }
			storage = "memory"
			VirtualHost "example.com"
				modules_enabled = { "probe" }
		`,
		NoListen: true,             // no sockets: drive it from Go only
		Sink:     &host.Recorder{}, // stanzas for users who are not logged in here
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Stop(context.Background())
	fmt.Println("modules ok:", report.OK())

	info, _ := rt.FireEvent(ctx, "example.com", "probe/info", nil)
	fmt.Println("handled by:", info.(map[string]any)["name"])

	alice, _ := rt.Login(ctx, "example.com", "alice", "laptop")
	items, _ := alice.Roster(ctx)
	fmt.Println("alice's contacts:", len(items))
	// Output:
	// modules ok: true
	// handled by: probe
	// alice's contacts: 0
}
