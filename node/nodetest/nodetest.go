// Package nodetest serves a node in process for tests that want the whole
// server, as nntpd builds it, on 127.0.0.1.
package nodetest

import (
	"context"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite/sqlitetest"
)

// Serve builds a node of cfg over st and serves it on a free port of
// 127.0.0.1 until the test ends, then shuts it down (before st closes:
// cleanups run last first). The loops do not run until the caller calls
// Start; without them a test releases posts itself, or sets
// ReleaseInterval 0.
func Serve(t testing.TB, st store.Store, cfg node.Config) (n *node.Node, addr string) {
	t.Helper()
	n, err := node.New(context.Background(), cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	l := nntptest.Listen(t)
	go n.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	return n, l.Addr().String()
}

// Start serves a running node of cfg (its loops started) over a fresh
// SQLite store and returns its address.
func Start(t testing.TB, cfg node.Config) string {
	t.Helper()
	n, addr := Serve(t, sqlitetest.Open(t), cfg)
	n.Start()
	return addr
}
