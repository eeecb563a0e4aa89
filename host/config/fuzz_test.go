package config

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary config files to the loader: whatever the input,
// it must return a *Config or an *Error, within a bounded time, without
// panicking. The loader is sealed: arbitrary input must not run commands,
// change files or wait for standard input.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/fuzzseed/*.lua")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range append(seeds, "../../examples/prosody.cfg.lua") {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		c, err := ParseWith(ctx, src, filepath.Join(dir, "fuzz.cfg.lua"), Options{Print: io.Discard, sealed: true})
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Fatalf("took %v", elapsed)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			return
		}
		for _, h := range append(c.Hosts, c.Global) {
			c.Modules(h.Name)
			c.Get(h.Name, "modules_enabled")
		}
	})
}
