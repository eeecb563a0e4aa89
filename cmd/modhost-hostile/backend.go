package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// backend is the web app modhost fetches rosters from. By username:
// bigN answers N contacts; dripN announces 16 MB and sends a byte a
// second; anyone else has one contact.
type backend struct {
	srv     *http.Server
	url     string
	served  atomic.Int64
	conns   atomic.Int64
	closing chan struct{}
}

func startBackend() (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{url: "http://" + ln.Addr().String(), closing: make(chan struct{})}
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.conns.Add(-1)
		}
	}}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *backend) close() {
	close(b.closing)
	_ = b.srv.Close()
}

func (b *backend) hits() int64 { return b.served.Load() }
func (b *backend) open() int64 { return b.conns.Load() }

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.served.Add(1)
	user := strings.TrimPrefix(r.URL.Path, "/contacts/")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(user, "big"):
		n, _ := strconv.Atoi(strings.TrimPrefix(user, "big"))
		var sb strings.Builder
		sb.WriteString("{")
		for i := range n {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `"contact%d@example.net":{"name":"Contact %d","groups":{"All":true}}`, i, i)
		}
		sb.WriteString("}")
		_, _ = w.Write([]byte(sb.String()))
	case strings.HasPrefix(user, "drip"):
		w.Header().Set("Content-Length", "16000000")
		w.WriteHeader(200)
		flusher, _ := w.(http.Flusher)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			select {
			case <-r.Context().Done():
				return
			case <-b.closing:
				return
			case <-tick.C:
			}
		}
	default:
		_, _ = w.Write([]byte(`{"bob@example.com":{"name":"Bob","groups":{"Friends":true}}}`))
	}
}
