package compat_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/modhost/modhost/compat"
	"github.com/modhost/modhost/lua"
)

// logRecord is what a test needs of an slog record.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// recorder is an slog.Handler that keeps every record, for tests that check
// what Lua code logged.
type recorder struct {
	mu      *sync.Mutex
	records *[]logRecord
	attrs   []slog.Attr
}

func newRecorder() *recorder {
	return &recorder{mu: &sync.Mutex{}, records: &[]logRecord{}}
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.attrs {
		lr.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	*r.records = append(*r.records, lr)
	r.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{mu: r.mu, records: r.records, attrs: append(append([]slog.Attr{}, r.attrs...), attrs...)}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// take returns the records so far and forgets them.
func (r *recorder) take() []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := *r.records
	*r.records = nil
	return out
}

// newRecordedLoop is newLoop with the loop's logs going to a recorder.
func newRecordedLoop(t testing.TB) (*lua.Loop, *recorder) {
	t.Helper()
	rec := newRecorder()
	l := lua.NewLoop(lua.Options{Libraries: compat.Libraries(), Logger: slog.New(rec)})
	t.Cleanup(func() { l.Close(nil) })
	return l, rec
}
