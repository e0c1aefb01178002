// Package e2e tests the whole server (nntp.Server + backend + a real store)
// over TCP with real clients: our own, go-nntp's, Python's nntplib, tin,
// and the nntpd binary itself for durability.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/node/nodetest"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite/sqlitetest"
)

const group = "alt.crypt.messages"

// storeKind opens a fresh, empty store of one kind.
type storeKind struct {
	name string
	open func(t testing.TB) store.Store
	// dsn returns the --db value of a fresh store for the nntpd binary.
	dsn func(t testing.TB) string
}

func sqliteKind() storeKind {
	return storeKind{
		name: "sqlite",
		open: func(t testing.TB) store.Store { return sqlitetest.Open(t) },
		dsn:  func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "news.db") },
	}
}

// storeKinds lists every store the server runs on; postgresKind is in
// stores_pg_test.go.
func storeKinds() []storeKind { return []storeKind{sqliteKind(), postgresKind()} }

func forEachStore(t *testing.T, fn func(t *testing.T, k storeKind)) {
	for _, k := range storeKinds() {
		t.Run(k.name, func(t *testing.T) { fn(t, k) })
	}
}

// testServer is an in-process server on 127.0.0.1:0.
type testServer struct {
	Addr    string
	Backend *inject.Injector
	Store   store.Store
}

func logger() *slog.Logger {
	if testing.Verbose() && os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startServer serves st with the settings of a default node, changed by
// mod, and runs its loops.
func startServer(t testing.TB, st store.Store, mod func(*node.Config)) *testServer {
	t.Helper()
	return startServerRun(t, st, mod, true)
}

// startServerManual is startServer without the loops: the test calls
// Backend.Release itself.
func startServerManual(t testing.TB, st store.Store, mod func(*node.Config)) *testServer {
	t.Helper()
	return startServerRun(t, st, mod, false)
}

// testConfig is the node the tests serve unless mod changes it: posts
// released at once, none held for a batch, AUTHINFO allowed in clear,
// no overall connection limit.
func testConfig(log *slog.Logger) node.Config {
	return node.Config{
		Name:              "news.example",
		Domain:            "id.news.example",
		ReleaseInterval:   0,
		MinBatch:          1,
		MaxConnections:    -1,
		AllowInsecureAuth: true,
		Logger:            log,
	}
}

func startServerRun(t testing.TB, st store.Store, mod func(*node.Config), runLoops bool) *testServer {
	t.Helper()
	cfg := testConfig(logger())
	if mod != nil {
		mod(&cfg)
	}
	return serveNode(t, st, cfg, runLoops)
}

// serveNode serves a node of cfg over st on 127.0.0.1:0 until the test
// ends, running its loops if runLoops.
func serveNode(t testing.TB, st store.Store, cfg node.Config, runLoops bool) *testServer {
	t.Helper()
	n, addr := nodetest.Serve(t, st, cfg)
	if runLoops {
		n.Start()
	}
	return &testServer{Addr: addr, Backend: n.Injector(), Store: st}
}

// dial connects to addr until the test ends.
func dial(t testing.TB, addr string) *nntp.Client {
	t.Helper()
	return nntptest.Dial(t, addr)
}

// postArticle is what a newsreader sends: its own headers, which must not
// survive, and a body.
func postArticle(subject string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Alice <alice@home.example>\r\nNewsgroups: %s\r\nSubject: %s\r\n", group, subject)
	b.WriteString("Message-ID: <alice.42@home.example>\r\nDate: Wed, 25 Nov 2026 09:00:00 +0100\r\n")
	b.WriteString("User-Agent: Tester/1.0\r\nX-Mailer: Mailer\r\nOrganization: Home\r\nNNTP-Posting-Host: 192.0.2.1\r\n")
	b.WriteString("X-Trace: home 12345\r\nReferences: <parent@home.example>\r\n\r\n")
	b.Write(gpgtest.CRLF(body))
	return b.Bytes()
}

// waitCount waits until the group holds n articles.
func waitCount(t testing.TB, st store.Store, n int64) nntp.Group {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, err := st.Group(context.Background(), group)
		if err != nil {
			t.Fatal(err)
		}
		if g.Count >= n {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("group holds %d articles, want %d", g.Count, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func nntpCode(err error) int {
	var e *nntp.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
