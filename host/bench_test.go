package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/modhost/modhost/lua"
)

// benchPlugin counts the events it handles, so a benchmark can prove every
// event it sent reached a Lua handler.
const benchPlugin = `
local handled = 0;
module:hook("bench/event", function (event)
	handled = handled + 1;
	return event.user;
end);
module:hook("bench/handled", function ()
	return handled;
end);
`

const benchConfig = `
log = { { levels = { min = "error" }, to = "console" } }
storage = "memory"
VirtualHost "bench.example"
	modules_enabled = { "bench_handler" }
`

// startBenchRuntime starts a runtime whose host bench.example runs
// benchPlugin; the setup is outside the timed part.
func startBenchRuntime(b *testing.B) *Runtime {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mod_bench_handler.lua"), []byte(benchPlugin), 0o644); err != nil {
		b.Fatal(err)
	}
	rt, err := New(Options{
		ConfigSource: benchConfig,
		ConfigName:   filepath.Join(dir, "bench.cfg.lua"),
		PluginPaths:  []string{dir},
		NoListen:     true,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := rt.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Stop(context.Background()) })
	if !report.OK() || len(report.Hosts) != 1 || len(report.Hosts[0].Loaded) != 1 {
		b.Fatalf("bench_handler did not load: %+v", report)
	}
	return rt
}

// requireHandled fails b unless the Lua handler saw exactly want events.
func requireHandled(b *testing.B, rt *Runtime, want int) {
	b.Helper()
	got, err := rt.FireEvent(context.Background(), "bench.example", "bench/handled", nil)
	if err != nil {
		b.Fatal(err)
	}
	if n, ok := got.(float64); !ok || int(n) != want {
		b.Fatalf("Lua handler saw %v events, want %d", got, want)
	}
}

// BenchmarkEventDispatch measures events fired from Go into a Lua handler
// on a host's bus. FireEvent waits for each result (a round trip through the
// loop per event); Post only queues them, as completions of Go work
// (an HTTP response, a timer) reach Lua.
func BenchmarkEventDispatch(b *testing.B) {
	data := map[string]any{"user": "romeo", "host": "bench.example"}

	b.Run("FireEvent", func(b *testing.B) {
		rt := startBenchRuntime(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			got, err := rt.FireEvent(ctx, "bench.example", "bench/event", data)
			if err != nil {
				b.Fatal(err)
			}
			if got != "romeo" {
				b.Fatalf("handler returned %v", got)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		requireHandled(b, rt, b.N)
	})

	b.Run("Post", func(b *testing.B) {
		rt := startBenchRuntime(b)
		loop := rt.Loop()
		var fire glua.LValue
		err := loop.Do(context.Background(), func(L *glua.LState) error {
			bus, err := eventBus(L, "bench.example")
			if err != nil {
				return err
			}
			fire = L.GetField(bus, "fire_event")
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		failed := 0 // touched on the loop goroutine only
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ok := loop.Post(func(L *glua.LState) {
				// Converted per event, as FireEvent does.
				if _, err := lua.Call(L, fire, 1, glua.LString("bench/event"), lua.FromGo(L, data)); err != nil {
					failed++
				}
			})
			if !ok {
				b.Fatal("loop closed")
			}
		}
		// The loop runs jobs in order: once this one runs, every event has.
		err = loop.Do(context.Background(), func(*glua.LState) error {
			if failed > 0 {
				return fmt.Errorf("%d of %d events failed", failed, b.N)
			}
			return nil
		})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		requireHandled(b, rt, b.N)
	})
}

// BenchmarkLoadExampleConfig measures a whole runtime's life on the example
// config: parse it, boot Prosody's world, load its plugins, unload them.
func BenchmarkLoadExampleConfig(b *testing.B) {
	cfg := filepath.Join("..", "examples", "prosody.cfg.lua")
	// The example logs at info to the console; the figures are what matters.
	quiet := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rt, err := New(Options{ConfigFile: cfg, NoListen: true, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		report, err := rt.Start(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !report.OK() {
			b.Fatalf("example config does not load cleanly: %+v", report)
		}
		if err := rt.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
