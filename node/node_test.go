package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/pool/seal"
	"github.com/altcrypt/altcrypt/store/sqlite/sqlitetest"
)

// TestDefaults: a zero Config takes the defaults nntpd's flags show, and
// a setting given is kept.
func TestDefaults(t *testing.T) {
	d := Config{}.withDefaults()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Name", d.Name, "altcrypt.invalid"},
		{"Domain", d.Domain, "altcrypt.invalid"},
		{"From", d.From, "Anonymous <nobody@invalid>"},
		{"Groups", strings.Join(d.Groups, ","), "alt.crypt.messages"},
		{"ReleaseInterval (0: at once)", d.ReleaseInterval, time.Duration(0)},
		{"MinBatch", d.MinBatch, 10},
		{"MaxWait", d.MaxWait, time.Hour},
		{"MaxInjectESKs", d.MaxInjectESKs, 1},
		{"Retention", d.Retention, 30 * 24 * time.Hour},
		{"HistoryRetention", d.HistoryRetention, 60 * 24 * time.Hour},
		{"MaxArticleSize", d.MaxArticleSize, 256 << 10},
		{"IdleTimeout", d.IdleTimeout, 3 * time.Minute},
		{"MaxConnections", d.MaxConnections, 1000},
		{"MaxConnectionsPerIP", d.MaxConnectionsPerIP, 16},
		{"ShutdownGrace", d.ShutdownGrace, 30 * time.Second},
		{"Logger set", d.Logger != nil, true},
		{"policy body limit", d.policy().MaxBodySize, 256 << 10},
		{"policy otherwise the gate's", func() any {
			p := d.policy()
			p.MaxBodySize = 0
			q := gate.DefaultPolicy()
			q.MaxBodySize = 0
			return p == q
		}(), true},
		{"DefaultReleaseInterval (nntpd)", DefaultReleaseInterval, time.Minute},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	given := Config{Name: "news.example", MinBatch: 1, MaxConnections: -1, Retention: time.Hour, MaxArticleSize: 4096}.withDefaults()
	if given.Name != "news.example" || given.Domain != "news.example" || given.MinBatch != 1 || given.MaxConnections != -1 ||
		given.Retention != time.Hour || given.policy().MaxBodySize != 4096 {
		t.Errorf("given settings changed: %+v", given)
	}
}

// post is a newsreader's article carrying a fresh ciphertext.
func post(t *testing.T, subject string) []byte {
	t.Helper()
	to, err := openpgp.NewEntity("reader", "", "", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := seal.Seal(to, []byte("a message for the node test\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	armored, err := seal.Armor(msg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Alice <alice@home.example>\r\nNewsgroups: alt.crypt.messages\r\nSubject: %s\r\n\r\n", subject)
	b.Write(bytes.ReplaceAll(bytes.ReplaceAll(armored, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")))
	return b.Bytes()
}

// start builds a node on a fresh SQLite store and serves it on
// 127.0.0.1:0; serveErr receives what Serve returned.
func start(t *testing.T, cfg Config) (n *Node, addr string, serveErr chan error) {
	t.Helper()
	st := sqlitetest.Open(t)
	n, err := New(context.Background(), cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveErr = make(chan error, 1)
	go func() { serveErr <- n.Serve(l) }()
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	return n, l.Addr().String(), serveErr
}

// readAll waits until the group holds want articles and returns their
// bodies.
func readAll(t *testing.T, c *nntp.Client, want int) [][]byte {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, nums, err := c.ListGroup(ctx, "alt.crypt.messages", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(nums) >= want {
			var out [][]byte
			for _, num := range nums {
				_, _, body, err := c.Body(ctx, fmt.Sprint(num))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, body)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d articles, want %d", len(nums), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPostReadShutdown posts and reads through a node's listener, then
// shuts it down: Serve returns nntp.ErrServerClosed, and a new connection
// is refused.
func TestPostReadShutdown(t *testing.T) {
	n, addr, serveErr := start(t, Config{Name: "news.example", ReleaseInterval: 0})
	n.Start()
	ctx := context.Background()
	c, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
	select {
	case err := <-serveErr:
		if !errors.Is(err, nntp.ErrServerClosed) {
			t.Errorf("Serve returned %v, want nntp.ErrServerClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("a connection was accepted after Shutdown")
	}
	if err := n.Shutdown(sctx); err != nil {
		t.Errorf("a second Shutdown: %v", err)
	}
}

// TestReleaseLoop: with a release interval, a post is published by the
// loop Start runs, not by the POST itself.
func TestReleaseLoop(t *testing.T) {
	n, addr, _ := start(t, Config{ReleaseInterval: 50 * time.Millisecond, MinBatch: 1})
	ctx := context.Background()
	c, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
	n, _, _ := start(t, Config{Peers: pf})
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

	plain, _, _ := start(t, Config{})
	if plain.Receiver() != nil || plain.RestartFeeds(pf2) != nil || plain.FeedStats("a") != (outfeed.PeerStats{}) {
		t.Error("a node without peers relays or feeds")
	}
}
