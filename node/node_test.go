package node_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/node/nodetest"
	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store/sqlite/sqlitetest"
)

// start serves a node of cfg over a fresh SQLite store.
func start(t *testing.T, cfg node.Config) (*node.Node, string) {
	t.Helper()
	return nodetest.Serve(t, sqlitetest.Open(t), cfg)
}

// TestPostReadShutdown posts and reads through a node's listener, then
// shuts it down: a new connection is refused, and Serve answers
// nntp.ErrServerClosed.
func TestPostReadShutdown(t *testing.T) {
	n, addr := start(t, node.Config{Name: "news.example", ReleaseInterval: 0})
	n.Start()
	ctx := context.Background()
	c := nntptest.Dial(t, addr)
	art := post(t, "hello")
	if err := c.Post(ctx, art); err != nil {
		t.Fatal(err)
	}
	bodies := readAll(t, c, 1)
	if !bytes.Contains(bodies[0], []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Errorf("read back a body that was not posted:\n%s", bodies[0])
	}
	_, _, head, err := c.Article(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(head, []byte("Path: news.example")) || bytes.Contains(head, []byte("alice")) {
		t.Errorf("article not injected as news.example with fresh headers:\n%s", head)
	}
	c.Close()

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("a connection was accepted after Shutdown")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Serve(l); !errors.Is(err, nntp.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v, want nntp.ErrServerClosed", err)
	}
	if err := n.Shutdown(sctx); err != nil {
		t.Errorf("a second Shutdown: %v", err)
	}
}

// TestReleaseLoop: with a release interval, a post is published by the
// loop Start runs, not by the POST itself.
func TestReleaseLoop(t *testing.T) {
	n, addr := start(t, node.Config{ReleaseInterval: 50 * time.Millisecond, MinBatch: 1})
	ctx := context.Background()
	c := nntptest.Dial(t, addr)
	if err := c.Post(ctx, post(t, "held")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, nums, err := c.ListGroup(ctx, "alt.crypt.messages", nil); err != nil || len(nums) != 0 {
		t.Fatalf("before Start: %d articles (%v), want none", len(nums), err)
	}
	n.Start()
	readAll(t, c, 1)
}

// TestPeers: with a peers file the node relays (a transit receiver) and
// feeds; RestartFeeds takes a new list.
func TestPeers(t *testing.T) {
	pf, err := peers.Parse(strings.NewReader("peer a {\n    send-to: 127.0.0.1:1\n    path: a.example\n    groups: alt.crypt.*\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := start(t, node.Config{Peers: pf})
	if n.Receiver() == nil {
		t.Fatal("no transit receiver with peers")
	}
	n.Start()
	pf2, err := peers.Parse(strings.NewReader("peer b {\n    send-to: 127.0.0.1:2\n    path: b.example\n    groups: alt.crypt.*\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RestartFeeds(pf2); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	plain, _ := start(t, node.Config{})
	if plain.Receiver() != nil || plain.RestartFeeds(pf2) != nil || plain.FeedStats("a") != (outfeed.PeerStats{}) {
		t.Error("a node without peers relays or feeds")
	}
}
