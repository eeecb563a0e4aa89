package ejabberdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/internal/testproc"
)

// EPMD is the Erlang port mapper daemon Debian's erlang-base installs.
const EPMD = "/usr/bin/epmd"

// distribution is how a node is named and reached: its node name, the
// cookie every node of its cluster shares, and the cluster's epmd (0 alone).
type distribution struct {
	node     string
	cookie   string
	epmdPort int
}

// newDistribution names a node alone: a random name and cookie, no epmd.
func newDistribution() (*distribution, error) {
	tag, err := randomHex(8)
	if err != nil {
		return nil, err
	}
	cookie, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	return &distribution{node: "modhosttest-" + tag + "@localhost", cookie: cookie}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Cluster is ejabberd nodes on this machine joined into one ejabberd
// cluster the way an operator joins them (`ejabberdctl join_cluster`, which
// makes the node a Mnesia replica of the first: accounts, rosters, sessions
// and routes shared). Each node has its own folder, spool, node name,
// distribution port and c2s, component and API listeners on loopback; the
// nodes share one cookie and a private epmd on a loopback port, so neither
// a system epmd nor another test's nodes are ever seen.
type Cluster struct {
	Nodes    []*Server
	EPMDPort int
	Cookie   string

	epmd *testproc.Daemon
}

// StartCluster starts n nodes serving opts.Host (every node gets the same
// Options, so a component declared in Components is accepted by each
// node's listener), joins nodes 2..n to node 1, and registers opts.Users
// once, through node 1: the cluster replicates them. Everything is stopped
// when the test ends.
func StartCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	Require(t)
	if n < 2 {
		t.Fatalf("ejabberdtest: a cluster needs two nodes or more, not %d", n)
	}
	dir := t.TempDir()
	tag, err := randomHex(6)
	if err != nil {
		t.Fatalf("ejabberdtest: %v", err)
	}
	cookie, err := randomHex(16)
	if err != nil {
		t.Fatalf("ejabberdtest: %v", err)
	}
	c := &Cluster{Cookie: cookie}
	c.startEPMD(t, dir) // its cleanup, registered first, runs after the nodes'
	for i := 1; i <= n; i++ {
		dist := &distribution{node: fmt.Sprintf("modhosttest-%s-%d@localhost", tag, i), cookie: cookie, epmdPort: c.EPMDPort}
		c.Nodes = append(c.Nodes, launch(t, filepath.Join(dir, "node"+strconv.Itoa(i)), opts, dist))
	}
	for _, s := range c.Nodes[1:] {
		if err := c.join(s); err != nil {
			t.Fatalf("ejabberdtest: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitJoined(ctx); err != nil {
		t.Fatalf("ejabberdtest: %v", err)
	}
	c.Nodes[0].registerUsers(t)
	return c
}

// startEPMD runs the cluster's own epmd on a free loopback port.
func (c *Cluster) startEPMD(t testing.TB, dir string) {
	t.Helper()
	ports, err := testproc.FreePorts(1)
	if err != nil {
		t.Fatalf("ejabberdtest: %v", err)
	}
	c.EPMDPort = ports[0]
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ERL_") {
			env = append(env, kv)
		}
	}
	addr := testproc.Loopback(c.EPMDPort)
	c.epmd = &testproc.Daemon{
		Name: "epmd",
		Path: EPMD,
		// Not -daemon: it stays our child, stopped by its pid.
		Args:         []string{"-port", strconv.Itoa(c.EPMDPort), "-address", "127.0.0.1"},
		Dir:          dir,
		Env:          env,
		OutputPath:   filepath.Join(dir, "epmd.log"),
		ReadyTimeout: 10 * time.Second,
		StopGrace:    5 * time.Second,
	}
	c.epmd.Ready = func(ctx context.Context) error { return c.epmd.WaitPort(ctx, addr) }
	t.Cleanup(func() {
		if err := c.epmd.Stop(); err != nil {
			t.Errorf("ejabberdtest: stop epmd: %v", err)
		}
	})
	if err := c.epmd.Start(); err != nil {
		t.Fatalf("ejabberdtest: %v", err)
	}
}

// join makes s a member of node 1's cluster. ejabberd stops itself on s,
// replaces s's Mnesia schema with a copy of the cluster's, and starts
// again; the ejabberdctl call returns once it has, and s is waited for
// until it serves. (Over mod_http_api the call cannot work: stopping
// ejabberd ends the HTTP request that asked for it, and the node stays
// stopped.)
func (c *Cluster) join(s *Server) error {
	if _, err := s.Ctl("join_cluster", c.Nodes[0].Node); err != nil {
		return fmt.Errorf("join %s to %s: %w", s.Node, c.Nodes[0].Node, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.StartTimeout)
	defer cancel()
	if err := s.waitServing(ctx); err != nil {
		return fmt.Errorf("%s after joining the cluster: %w", s.Node, err)
	}
	return nil
}

// Members is the cluster as node s sees it (list_cluster), sorted.
func (s *Server) Members(ctx context.Context) ([]string, error) {
	code, body, err := s.API(ctx, "list_cluster", struct{}{})
	if err != nil {
		return nil, fmt.Errorf("list_cluster on %s: %w", s.Node, err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("list_cluster on %s: HTTP %d %s", s.Node, code, body)
	}
	var nodes []string
	if err := json.Unmarshal(body, &nodes); err != nil {
		return nil, fmt.Errorf("list_cluster on %s: %w: %s", s.Node, err, body)
	}
	slices.Sort(nodes)
	return nodes, nil
}

// WaitJoined waits until every running node lists every node of the
// cluster (a stopped node stays a member: Mnesia keeps it in the schema).
func (c *Cluster) WaitJoined(ctx context.Context) error {
	var want []string
	for _, s := range c.Nodes {
		want = append(want, s.Node)
	}
	slices.Sort(want)
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		var last []string
		err := s.Poll(ctx, "the cluster "+strings.Join(want, ", "), func(ctx context.Context) bool {
			got, err := s.Members(ctx)
			last = got
			return err == nil && slices.Equal(got, want)
		})
		if err != nil {
			return fmt.Errorf("%s lists %v: %w", s.Node, last, err)
		}
	}
	return nil
}
