package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/injecttest"
	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/internal/sockstest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool"
	"github.com/altcrypt/altcrypt/pool/home"
)

// watchedServer is nntpd's stack on loopback that counts the connections
// it accepts and the sessions that were encrypted.
type watchedServer struct {
	addr     string
	accepted *atomic.Int64
	tls      atomic.Int64
}

type tlsCounting struct {
	nntp.Backend
	n *atomic.Int64
}

func (b tlsCounting) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	if info.TLS != nil {
		b.n.Add(1)
	}
	return b.Backend.NewSession(ctx, info)
}

func startWatched(t *testing.T, cert *testcert.Cert) *watchedServer {
	t.Helper()
	b := injecttest.Backend(t, inject.Config{ReleaseInterval: 0})
	w := &watchedServer{}
	srv := &nntp.Server{Backend: tlsCounting{b, &w.tls}}
	if cert != nil {
		srv.TLSConfig = cert.Server
	}
	l := &nntptest.CountingListener{Listener: nntptest.Listen(t)}
	w.accepted = &l.Accepted
	w.addr = nntptest.ServeNNTP(t, srv, l)
	return w
}

// pair makes two pool homes, alice knowing bob's key.
func pair(t *testing.T) (alice, bob string) {
	t.Helper()
	alice, bob = t.TempDir(), t.TempDir()
	b, _ := pool.New(bob)
	e, err := b.Home.Keygen(home.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := home.ArmoredPublic(e)
	a, _ := pool.New(alice)
	if _, err := a.Home.ImportContact("bob", bytes.NewReader(pub)); err != nil {
		t.Fatal(err)
	}
	return alice, bob
}

func writeSettings(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, home.SettingsFile), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSendAndSyncThroughProxy(t *testing.T) {
	srv := startWatched(t, nil)
	px := sockstest.Start(t)
	px.Map("news.example:119", srv.addr)
	alice, bob := pair(t)
	proxyURL := "socks5h://" + px.Addr

	// --proxy on send; $ALTCRYPT_PROXY for sync; the settings file for a
	// second send.
	if r := runPool(t, "hello through the proxy\n", "--home", alice, "send", "--to", "bob", "--server", "news.example:119", "--proxy", proxyURL); r.code != 0 {
		t.Fatalf("send: %+v", r)
	}
	writeSettings(t, alice, "# set once\nproxy = "+proxyURL+"\nrequire-proxy = yes\n")
	if r := runPool(t, "second\n", "--home", alice, "send", "--to", "bob", "--server", "news.example:119"); r.code != 0 {
		t.Fatalf("send with the proxy setting: %+v", r)
	}
	t.Setenv("ALTCRYPT_PROXY", proxyURL)
	r := runPool(t, "", "--home", bob, "sync", "--server", "news.example:119", "--lock-step", "--connections", "2")
	if r.code != 0 || !strings.Contains(r.stderr, "2 new articles stored") {
		t.Fatalf("sync: %+v", r)
	}
	if r := runPool(t, "", "--home", bob, "read"); r.code != 0 || !strings.Contains(r.stdout, "hello through the proxy") {
		t.Fatalf("read: %+v", r)
	}

	reqs := px.Requests()
	var sends, syncs []string
	for _, q := range reqs {
		if !q.Name || q.Host != "news.example" || q.Port != 119 {
			t.Errorf("the proxy was asked for %+v, want the name news.example:119", q)
		}
		switch {
		case strings.HasPrefix(q.User, "altcrypt-send-"):
			sends = append(sends, q.User)
		case strings.HasPrefix(q.User, "altcrypt-sync-"):
			syncs = append(syncs, q.User)
		default:
			t.Errorf("SOCKS username %q names no purpose", q.User)
		}
	}
	if len(sends) != 2 || len(syncs) != 2 {
		t.Fatalf("proxy saw sends %v, syncs %v", sends, syncs)
	}
	if sends[0] == sends[1] {
		t.Errorf("two posts shared one SOCKS username (one circuit): %q", sends[0])
	}
	if syncs[0] != syncs[1] {
		t.Errorf("the connections of one sync used different usernames: %v", syncs)
	}
	if got := srv.accepted.Load(); got != int64(len(reqs)) {
		t.Errorf("server accepted %d connections, the proxy made %d", got, len(reqs))
	}
}

func TestProxyDownFailsWithoutDirectConnection(t *testing.T) {
	srv := startWatched(t, nil)
	alice, bob := pair(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "socks5h://" + l.Addr().String()
	l.Close()
	for _, args := range [][]string{
		{"--home", alice, "send", "--to", "bob", "--server", srv.addr, "--proxy", dead},
		{"--home", bob, "sync", "--server", srv.addr, "--proxy", dead},
	} {
		r := runPool(t, "x", args...)
		if r.code != 1 || !strings.Contains(r.stderr, "not connecting directly") || !strings.Contains(r.stderr, l.Addr().String()) {
			t.Errorf("%v: %+v", args[2], r)
		}
	}
	// require-proxy with no proxy anywhere.
	writeSettings(t, alice, "require-proxy = yes\n")
	r := runPool(t, "x", "--home", alice, "send", "--to", "bob", "--server", srv.addr)
	if r.code != 1 || !strings.Contains(r.stderr, "require-proxy") {
		t.Errorf("require-proxy: %+v", r)
	}
	// A bad proxy URL or setting is a clear error.
	r = runPool(t, "x", "--home", bob, "sync", "--server", srv.addr, "--proxy", "http://127.0.0.1:8080")
	if r.code != 1 || !strings.Contains(r.stderr, "socks5h://") {
		t.Errorf("http proxy: %+v", r)
	}
	writeSettings(t, bob, "proxi = socks5h://127.0.0.1:9050\n")
	r = runPool(t, "", "--home", bob, "sync", "--server", srv.addr)
	if r.code != 1 || !strings.Contains(r.stderr, `unknown setting "proxi"`) {
		t.Errorf("misspelt setting: %+v", r)
	}
	if n := srv.accepted.Load(); n != 0 {
		t.Fatalf("the news server saw %d connections", n)
	}
}

// TestSendAndSyncUseTLS: a server that offers STARTTLS gets TLS from send
// and sync (trusting the certificate from the tls-ca setting); one whose
// certificate does not verify gets nothing.
func TestSendAndSyncUseTLS(t *testing.T) {
	cert := testcert.New(t)
	srv := startWatched(t, cert)
	alice, bob := pair(t)
	for _, h := range []string{alice, bob} {
		writeSettings(t, h, "tls-ca = "+cert.CertFile+"\n")
	}
	if r := runPool(t, "over TLS\n", "--home", alice, "send", "--to", "bob", "--server", srv.addr); r.code != 0 {
		t.Fatalf("send: %+v", r)
	}
	if r := runPool(t, "", "--home", bob, "sync", "--server", srv.addr, "--connections", "1"); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	}
	if a, s := srv.accepted.Load(), srv.tls.Load(); a != 2 || s != 2 {
		t.Fatalf("%d connections, %d of them encrypted; want 2 and 2", a, s)
	}
	other := testcert.New(t)
	writeSettings(t, alice, "tls-ca = "+other.CertFile+"\n")
	r := runPool(t, "x", "--home", alice, "send", "--to", "bob", "--server", srv.addr, "--insecure")
	if r.code != 1 || !strings.Contains(r.stderr, "not going on without it") {
		t.Fatalf("untrusted certificate: %+v", r)
	}
}

// TestOutboxFlags: --later with --print or --now is refused; a queued
// message goes out with the next sync; a damaged outbox does not stop a
// sync.
func TestOutboxFlags(t *testing.T) {
	srv := startWatched(t, nil)
	alice, bob := pair(t)
	for _, args := range [][]string{{"--later", "--print"}, {"--later", "--now"}} {
		r := runPool(t, "x", append([]string{"--home", alice, "send", "--to", "bob"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "--later") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	if r := runPool(t, "", "--home", alice, "run", "--cover-rate", "-2"); r.code != 1 || !strings.Contains(r.stderr, "posts per day") {
		t.Errorf("run --cover-rate -2: %+v", r)
	}
	writeSettings(t, alice, "send-later = yes\ndelay-mean = 1ms\n")
	if r := runPool(t, "queued by the setting\n", "--home", alice, "send", "--to", "bob", "--server", srv.addr); r.code != 0 || !strings.Contains(r.stderr, "queued") {
		t.Fatalf("send with send-later: %+v", r)
	}
	if srv.accepted.Load() != 0 {
		t.Fatal("a queued message was posted at once")
	}
	time.Sleep(5 * time.Millisecond)
	r := runPool(t, "", "--home", alice, "sync", "--server", srv.addr)
	if r.code != 0 || !strings.Contains(r.stderr, "outbox: 1 posted") {
		t.Fatalf("sync posting the outbox: %+v", r)
	}
	if r := runPool(t, "now\n", "--home", alice, "send", "--to", "bob", "--server", srv.addr, "--now"); r.code != 0 || !strings.Contains(r.stderr, "posted to") {
		t.Fatalf("send --now: %+v", r)
	}
	os.WriteFile(filepath.Join(alice, "outbox", "q", "damaged"), []byte("garbage"), 0o600)
	r = runPool(t, "", "--home", alice, "sync", "--server", srv.addr)
	if r.code != 0 || !strings.Contains(r.stderr, "the outbox was not posted from") || !strings.Contains(r.stderr, "damaged") {
		t.Fatalf("sync with a damaged outbox: %+v", r)
	}
	if r := runPool(t, "", "--home", bob, "sync", "--server", srv.addr); r.code != 0 || !strings.Contains(r.stderr, "2 new articles") {
		t.Fatalf("bob's sync: %+v", r)
	}
}
