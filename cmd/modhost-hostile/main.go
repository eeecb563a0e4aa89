// Command modhost-hostile replays a hostile user's probe against a real
// modhost process on loopback: slow and huge requests, smuggling and path
// tricks, abandoned work, hostile refresh bodies, web app answers that are
// too big, dripping or hanging, plugins that never return, and a SIGTERM
// while the loop is busy. For each probe it prints the answer, how long it
// took, and the process's RSS and goroutines before and after, so that
// what a probe costs is visible, not only whether it was answered.
//
//	make hostile                     # builds bin/modhost, runs every probe
//	bin/modhost-hostile -only body   # the probes whose name matches
//
// It is not part of `make test`: it takes a few minutes and prints figures
// rather than asserting them; the bounds it exercises are each pinned by a
// test in the suite.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	modhost := flag.String("modhost", "bin/modhost", "the modhost binary to probe")
	only := flag.String("only", "", "run only the probes whose name matches this regular expression")
	flag.Parse()
	var filter *regexp.Regexp
	if *only != "" {
		var err error
		if filter, err = regexp.Compile(*only); err != nil {
			fmt.Fprintln(os.Stderr, "modhost-hostile: -only:", err)
			os.Exit(2)
		}
	}
	if err := run(*modhost, filter); err != nil {
		fmt.Fprintln(os.Stderr, "modhost-hostile:", err)
		os.Exit(1)
	}
}

// target is the modhost process under probe and what it talks to.
type target struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	dir     string
	backend *backend
	logPath string
	exited  chan struct{} // closed when the process has ended
	waitErr error         // what Wait said, once exited is closed
}

const secret = "s3cret"

func run(modhost string, filter *regexp.Regexp) error {
	bin, err := filepath.Abs(modhost)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (run `make build` first, or use `make hostile`)", modhost, err)
	}
	dir, err := os.MkdirTemp("", "modhost-hostile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := startBackend()
	if err != nil {
		return err
	}
	defer b.close()
	tg, err := start(bin, dir, b)
	if err != nil {
		return err
	}
	defer tg.stop()
	fmt.Printf("modhost %s on %s (log %s), web app on %s\n\n", bin, tg.base, tg.logPath, b.url)
	fmt.Printf("%-46s %-72s %9s  %-17s %s\n", "probe", "answer", "time", "RSS MB", "goroutines")
	for _, p := range probes() {
		if filter != nil && !filter.MatchString(p.name) {
			continue
		}
		if tg.cmd.ProcessState != nil {
			return fmt.Errorf("modhost exited before probe %q; see %s", p.name, tg.logPath)
		}
		before := tg.sample()
		start := time.Now()
		answer := p.run(tg)
		took := time.Since(start)
		time.Sleep(time.Second) // what the probe left behind settles
		after := tg.sample()
		fmt.Printf("%-46s %-72s %9s  %6.1f → %6.1f  %d → %d\n", p.name, clip(answer, 72), took.Round(time.Millisecond),
			before.rssMB, after.rssMB, before.goroutines, after.goroutines)
	}
	if filter == nil || filter.MatchString("SIGTERM") {
		fmt.Printf("%-46s %s\n", "SIGTERM while a handler spins for ever", tg.sigterm())
	}
	return nil
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// probePlugin gives the probes handlers that hold the loop.
const probePlugin = `
module:depends("http");
local function spin(ms)
	local start = os.clock();
	while (os.clock() - start) * 1000 < ms do end
end
module:provides("http", {
	name = "probe";
	route = {
		["GET /spin"] = function (event)
			spin(tonumber((event.request.url.query or ""):match("ms=(%d+)")) or 1000);
			return "spun";
		end;
		["GET /forever"] = function () while true do end end;
		["GET /pattern"] = function ()
			local s = string.rep("a", 40);
			return tostring(s:find(string.rep("a?", 40) .. string.rep("a", 40) .. "b"));
		end;
	};
});
`

func start(bin, dir string, b *backend) (*target, error) {
	files := filepath.Join(dir, "www")
	for name, body := range map[string]string{"www/index.html": "<h1>hi</h1>", "www/%41.txt": "literal", "secret.txt": "SECRET"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "mod_hostile_probe.lua"), []byte(probePlugin), 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`-- written by modhost-hostile
http_ports = { %d }
http_interfaces = { "127.0.0.1" }
https_ports = {}
plugin_paths = { %q }
log = { { levels = { min = "info" }, to = "file", filename = %q } }
statistics = "internal"
VirtualHost "example.com"
	modules_enabled = { "http_roster_admin", "http_files", "http_openmetrics", "hostile_probe" }
	storage = { roster = "memory" }
	http_roster_url = %q
	http_roster_admin_secret = %q
	http_roster_admin_refresh_offline = true
	http_roster_admin_timeout = 3
	http_files_dir = %q
`, port, dir, filepath.Join(dir, "modhost.log"), b.url+"/contacts/%s", secret, files)
	cfgPath := filepath.Join(dir, "modhost.cfg.lua")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "modhost.out"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	tg := &target{cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, backend: b, logPath: out.Name(), exited: make(chan struct{})}
	go func() { tg.waitErr = cmd.Wait(); out.Close(); close(tg.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(tg.base + "/metrics"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return tg, nil
			}
		}
		select {
		case <-tg.exited:
			return nil, fmt.Errorf("modhost exited at start (%v); see %s", tg.waitErr, out.Name())
		case <-time.After(100 * time.Millisecond):
		}
	}
	tg.stop()
	return nil, fmt.Errorf("modhost did not serve /metrics within 20 s; see %s", out.Name())
}

func (tg *target) stop() {
	if tg.cmd.ProcessState == nil {
		_ = tg.cmd.Process.Kill()
		<-tg.exited
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

type sample struct {
	rssMB      float64
	goroutines int
}

// sample reads the process's VmRSS and its go_goroutines metric.
func (tg *target) sample() sample {
	var s sample
	if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", tg.cmd.Process.Pid)); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				s.rssMB = kb / 1024
			}
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if resp, err := client.Get(tg.base + "/metrics"); err == nil {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				s.goroutines = int(n)
			}
		}
		resp.Body.Close()
	} else {
		s.goroutines = -1
	}
	return s
}

// do sends one request and describes the answer.
func (tg *target) do(method, path, body string, header map[string]string, timeout time.Duration) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, tg.base+path, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if _, ok := header["Authorization"]; !ok && strings.HasPrefix(path, "/roster_admin") {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "error: " + err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, fmt.Sprintf("%d %s", resp.StatusCode, summary(raw))
}

// summary shortens a roster-admin or error JSON answer to what matters.
func summary(raw []byte) string {
	var v struct {
		Status, Message, Error string
		Updated, Errors        *int
	}
	if json.Unmarshal(raw, &v) != nil {
		return strings.TrimSpace(string(raw))
	}
	switch {
	case v.Updated != nil && v.Errors != nil && v.Status == "ok":
		return fmt.Sprintf("ok updated=%d errors=%d", *v.Updated, *v.Errors)
	case v.Updated != nil && v.Errors != nil:
		return fmt.Sprintf("%s updated=%d errors=%d: %s", v.Status, *v.Updated, *v.Errors, v.Message)
	case v.Message != "":
		return v.Status + ": " + v.Message
	case v.Error != "":
		return "error: " + v.Error
	}
	return strings.TrimSpace(string(raw))
}

// honest is the web app's own refresh of one ordinary user.
func (tg *target) honest() string {
	start := time.Now()
	_, a := tg.do("POST", "/roster_admin/refresh", `["alice"]`, nil, 30*time.Second)
	return fmt.Sprintf("then web app %s (%v)", a, time.Since(start).Round(time.Millisecond))
}

// raw writes s on a new connection and returns the first line answered and
// whether the server closed the connection after the answer.
func (tg *target) raw(s string, wait time.Duration) (string, bool) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(tg.base, "http://"))
	if err != nil {
		return "error: " + err.Error(), false
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, s); err != nil {
		return "write: " + err.Error(), false
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "no answer: " + err.Error(), false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = br.ReadByte()
	return resp.Status, err == io.EOF
}

// hold opens n connections, writes head on each, and keeps them open until
// release is called.
func (tg *target) hold(n int, head string) (release func(), opened int) {
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", strings.TrimPrefix(tg.base, "http://"))
		if err != nil {
			break
		}
		_, _ = io.WriteString(c, head)
		conns = append(conns, c)
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
	}, len(conns)
}

// sigterm starts a handler that never returns, sends SIGTERM and reports
// how the process ended.
func (tg *target) sigterm() string {
	go tg.do("GET", "/probe/forever", "", nil, 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	_ = tg.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-tg.exited:
		err := tg.waitErr
		code := 0
		if tg.cmd.ProcessState != nil {
			code = tg.cmd.ProcessState.ExitCode()
		}
		return fmt.Sprintf("exited in %v, code %d (%v)", time.Since(start).Round(time.Millisecond), code, err)
	case <-time.After(60 * time.Second):
		_ = tg.cmd.Process.Kill()
		<-tg.exited
		return "still running 60 s after SIGTERM: killed"
	}
}

type probe struct {
	name string
	run  func(tg *target) string
}

func probes() []probe {
	return []probe{
		{"baseline: one refresh", func(tg *target) string { return tg.honest() }},
		{"slowloris: 200 connections, headers dripping", func(tg *target) string {
			release, n := tg.hold(200, "POST /roster_admin/refresh HTTP/1.1\r\nHost: x\r\nX-A: ")
			defer release()
			return fmt.Sprintf("%d held; %s", n, tg.honest())
		}},
		{"slow bodies: 32 × Content-Length 100, 1 byte", func(tg *target) string {
			release, n := tg.hold(32, "POST /roster_admin/refresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+secret+"\r\nContent-Length: 100\r\n\r\n[")
			defer release()
			return fmt.Sprintf("%d held; %s", n, tg.honest())
		}},
		{"5,000 idle connections", func(tg *target) string {
			release, n := tg.hold(5000, "")
			defer release()
			return fmt.Sprintf("%d open; %s", n, tg.honest())
		}},
		{"1 MiB header", func(tg *target) string {
			_, a := tg.do("GET", "/roster_admin/refresh/alice", "", map[string]string{"X-Big": strings.Repeat("a", 1<<20)}, 10*time.Second)
			return a
		}},
		{"Content-Length and Transfer-Encoding", func(tg *target) string {
			status, closed := tg.raw("POST /roster_admin/refresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+secret+
				"\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n[\"alice\"]\r\n0\r\n\r\n", 10*time.Second)
			return fmt.Sprintf("%s, connection closed: %v", status, closed)
		}},
		{"Content-Length larger than the body", func(tg *target) string {
			status, closed := tg.raw("POST /roster_admin/refresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+secret+
				"\r\nContent-Length: 100\r\n\r\n[\"alice\"]", 40*time.Second)
			return fmt.Sprintf("%s, connection closed: %v", status, closed)
		}},
		{"path traversal: 12 variants on /files", func(tg *target) string {
			served := 0
			codes := map[string]int{}
			for _, p := range []string{"/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/%2E%2E/secret.txt", "/files/..%2fsecret.txt",
				"/files/%252e%252e/secret.txt", "/files/....//secret.txt", "/files/.%2e/secret.txt", "/files/%2e./secret.txt",
				"/files/..\\secret.txt", "/files/%c0%ae%c0%ae/secret.txt", "/files//../secret.txt", "/files/a/../../secret.txt"} {
				status, body := tg.rawPath(p)
				codes[strconv.Itoa(status)]++
				if strings.Contains(body, "SECRET") {
					served++
				}
			}
			return fmt.Sprintf("secret served %d times; answers %v", served, codes)
		}},
		{"%2541.txt (decoded once: the file %41.txt)", func(tg *target) string {
			status, body := tg.rawPath("/files/%2541.txt")
			return fmt.Sprintf("%d %s", status, body)
		}},
		{"secret: wrong, missing, lower-case scheme", func(tg *target) string {
			_, wrong := tg.do("POST", "/roster_admin/refresh", `["alice"]`, map[string]string{"Authorization": "Bearer nope"}, 10*time.Second)
			_, missing := tg.do("POST", "/roster_admin/refresh", `["alice"]`, map[string]string{"Authorization": ""}, 10*time.Second)
			_, lower := tg.do("POST", "/roster_admin/refresh", `["alice"]`, map[string]string{"Authorization": "bearer " + secret}, 10*time.Second)
			return fmt.Sprintf("wrong %s; missing %s; lower %s", wrong[:3], missing[:3], lower[:3])
		}},
		{"usernames . and .. (offline refresh)", func(tg *target) string {
			before := tg.backend.hits()
			_, a := tg.do("POST", "/roster_admin/refresh", `[".",".."]`, nil, 30*time.Second)
			return fmt.Sprintf("%s; web app asked %d times", a, tg.backend.hits()-before)
		}},
		{"refresh body: 1,048,000 spaces then []", func(tg *target) string {
			_, a := tg.do("POST", "/roster_admin/refresh", strings.Repeat(" ", 1048000)+"[]", nil, 60*time.Second)
			return a
		}},
		{"refresh body: nested 100,000 deep", func(tg *target) string {
			_, a := tg.do("POST", "/roster_admin/refresh", strings.Repeat("[", 100000)+strings.Repeat("]", 100000), nil, 60*time.Second)
			return a
		}},
		{"refresh naming 100,000 users", func(tg *target) string {
			var sb strings.Builder
			sb.WriteString(`[`)
			for i := range 100000 {
				if i > 0 {
					sb.WriteString(",")
				}
				fmt.Fprintf(&sb, `"u%d"`, i)
			}
			sb.WriteString(`]`)
			_, a := tg.do("POST", "/roster_admin/refresh", sb.String(), nil, 60*time.Second)
			return a
		}},
		{"roster of 10,000 contacts", func(tg *target) string {
			_, a := tg.do("POST", "/roster_admin/refresh", `["big10000"]`, nil, 120*time.Second)
			return a
		}},
		{"roster of 100,000 contacts", func(tg *target) string {
			_, a := tg.do("POST", "/roster_admin/refresh", `["big100000"]`, nil, 120*time.Second)
			return a + "; " + tg.honest()
		}},
		{"web app drips 16 MB answers, 50 users", func(tg *target) string {
			var users []string
			for i := range 50 {
				users = append(users, fmt.Sprintf(`"drip%d"`, i))
			}
			_, a := tg.do("POST", "/roster_admin/refresh", "["+strings.Join(users, ",")+"]", nil, 60*time.Second)
			time.Sleep(time.Second)
			return fmt.Sprintf("%s; web app connections still open: %d", a, tg.backend.open())
		}},
		{"600 abandoned 1 MB POSTs while the loop spins", func(tg *target) string {
			spun := make(chan string, 1)
			go func() { _, a := tg.do("GET", "/probe/spin?ms=2000", "", nil, 30*time.Second); spun <- a }()
			time.Sleep(100 * time.Millisecond)
			body := "[" + strings.Repeat(" ", 1<<20-10) + `"alice"]`
			codes := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			sem := make(chan struct{}, 50)
			for range 600 {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					code, _ := tg.do("POST", "/roster_admin/refresh", body, nil, 300*time.Millisecond)
					mu.Lock()
					codes[code]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			return fmt.Sprintf("spin %s; answers %v (0 = abandoned); %s", clip(<-spun, 10), codes, tg.honest())
		}},
		{"handler that loops for ever", func(tg *target) string {
			_, a := tg.do("GET", "/probe/forever", "", nil, 40*time.Second)
			return a + "; " + tg.honest()
		}},
		{"catastrophic pattern in a handler", func(tg *target) string {
			_, a := tg.do("GET", "/probe/pattern", "", nil, 40*time.Second)
			return a + "; " + tg.honest()
		}},
	}
}

// rawPath sends a GET for p exactly as written.
func (tg *target) rawPath(p string) (int, string) {
	req, _ := http.NewRequest("GET", tg.base, nil)
	req.URL.Opaque = p
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return resp.StatusCode, strings.TrimSpace(string(raw))
}
