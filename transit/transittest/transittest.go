// Package transittest holds what the transit, feed and interop tests share:
// real gpg-made ciphertext, article builders, stores, and an in-process
// nntp.Server whose sessions feed a transit.Receiver.
package transittest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite"
	"github.com/altcrypt/altcrypt/store/storetest"
	"github.com/altcrypt/altcrypt/transit"
)

// Group is the group the tests carry.
const Group = "alt.crypt.messages"

var (
	bodiesOnce sync.Once
	bodies     [][]byte
	bodiesErr  error
)

// Bodies returns a few article bodies (CRLF line endings) made by gpg at
// test time: messages of about 3 KB encrypted to a fresh key in a
// temporary GNUPGHOME. Made once per test binary.
func Bodies(tb testing.TB) [][]byte {
	tb.Helper()
	bodiesOnce.Do(func() { bodies, bodiesErr = makeBodies() })
	if bodiesErr != nil {
		tb.Fatalf("making ciphertext with gpg: %v", bodiesErr)
	}
	return bodies
}

func makeBodies() ([][]byte, error) {
	home, err := os.MkdirTemp("", "transittest-gpg")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	gpg := func(stdin []byte, args ...string) ([]byte, error) {
		cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--quiet", "--no-tty"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("gpg %v: %v: %s", args, err, errb.String())
		}
		return out.Bytes(), nil
	}
	if _, err := gpg(nil, "--passphrase", "", "--quick-gen-key", "transit test <transit@example.test>", "ed25519", "cert", "never"); err != nil {
		return nil, err
	}
	fpr, err := gpg(nil, "--with-colons", "--list-keys", "transit@example.test")
	if err != nil {
		return nil, err
	}
	var fp string
	for _, line := range strings.Split(string(fpr), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			fp = f[9]
			break
		}
	}
	if fp == "" {
		return nil, fmt.Errorf("no fingerprint for the test key")
	}
	if _, err := gpg(nil, "--passphrase", "", "--quick-add-key", fp, "cv25519", "encr", "never"); err != nil {
		return nil, err
	}
	var out [][]byte
	for i := 0; i < 4; i++ {
		plain := bytes.Repeat([]byte(fmt.Sprintf("message %d of the transit tests. ", i)), 70)
		ct, err := gpg(plain, "--armor", "--compress-algo", "none", "--trust-model", "always", "--encrypt", "--recipient", "transit@example.test")
		if err != nil {
			return nil, err
		}
		out = append(out, CRLF(ct))
	}
	return out, nil
}

// CRLF converts LF line endings to CRLF (leaving CRLF alone).
func CRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// Article builds a transit article: Path, From, Newsgroups, Subject, Date,
// Message-ID, then body.
func Article(id, path string, date time.Time, body []byte, groups ...string) []byte {
	if len(groups) == 0 {
		groups = []string{Group}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Path: %s\r\n", path)
	fmt.Fprintf(&b, "From: Nobody <nobody@example.test>\r\n")
	fmt.Fprintf(&b, "Newsgroups: %s\r\n", strings.Join(groups, ","))
	fmt.Fprintf(&b, "Subject: %s\r\n", strings.Trim(id, "<>"))
	fmt.Fprintf(&b, "Date: %s\r\n", date.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", id)
	fmt.Fprintf(&b, "Content-Type: application/pgp-encrypted\r\n")
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// OpenSQLite opens a fresh SQLite store carrying Group, closed at the end
// of the test.
func OpenSQLite(tb testing.TB) store.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "news.db")
	return carrying(tb, storetest.Open(tb, func(ctx context.Context) (*sqlite.Store, error) {
		return sqlite.Open(ctx, path)
	}))
}

// carrying makes st carry Group.
func carrying(tb testing.TB, st store.Store) store.Store {
	tb.Helper()
	if err := st.EnsureGroup(context.Background(), Group, "OpenPGP-encrypted messages"); err != nil {
		tb.Fatal(err)
	}
	return st
}

// Quiet returns a logger that drops everything (refusals are expected in
// tests; set -v and a real logger to see them).
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Session is the test backend's session: reads from the store, feeds the
// Receiver. Every connection may feed.
type Session struct {
	nntp.Reader
	R      *transit.Receiver
	Counts *Counts
}

// Counts records how often each message-id was offered (IHAVE, CHECK)
// and transferred (IHAVE's article, TAKETHIS), to find loops and resends.
type Counts struct {
	mu       sync.Mutex
	offers   map[string]int
	receipts map[string]int
}

func (c *Counts) add(m *map[string]int, id string) {
	c.mu.Lock()
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[id]++
	c.mu.Unlock()
}

// Offers returns how often id was offered.
func (c *Counts) Offers(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offers[id]
}

// Receipts returns how often id was transferred.
func (c *Counts) Receipts(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.receipts[id]
}

func (s *Session) Permissions() nntp.Permissions { return nntp.Permissions{Feed: true} }
func (s *Session) Close() error                  { return nil }
func (s *Session) Wanted(ctx context.Context, id string) error {
	s.Counts.add(&s.Counts.offers, id)
	return s.R.Wanted(ctx, id)
}
func (s *Session) Receive(ctx context.Context, id string, article []byte) error {
	s.Counts.add(&s.Counts.receipts, id)
	return s.R.Receive(ctx, id, article)
}

// Backend serves every connection with a Session.
type Backend struct {
	Store  store.Store
	R      *transit.Receiver
	Counts *Counts
}

func (b *Backend) NewSession(ctx context.Context, info nntp.ConnInfo) (nntp.Session, error) {
	return &Session{Reader: b.Store, R: b.R, Counts: b.Counts}, nil
}

// Server is a running in-process transit server.
type Server struct {
	Addr     string
	Receiver *transit.Receiver
	Counts   *Counts
	NNTP     *nntp.Server
	Listener net.Listener
}

// StartServer starts an nntp.Server on 127.0.0.1:0 (or on addr, to come
// back on the same port) whose sessions feed a Receiver built from cfg
// over st. It stops at the end of the test.
func StartServer(tb testing.TB, st store.Store, cfg transit.Config, addr string) *Server {
	tb.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	cfg.Store = st
	if cfg.PathName == "" {
		cfg.PathName = "us.example.test"
	}
	if cfg.Logger == nil {
		cfg.Logger = Quiet()
	}
	r, err := transit.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var l net.Listener
	for i := 0; ; i++ {
		l, err = net.Listen("tcp", addr)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond) // the old listener's port may linger
	}
	if err != nil {
		tb.Fatal(err)
	}
	counts := &Counts{}
	srv := &nntp.Server{Backend: &Backend{Store: st, R: r, Counts: counts}, Name: cfg.PathName, Logger: cfg.Logger}
	go srv.Serve(l)
	s := &Server{Addr: l.Addr().String(), Receiver: r, Counts: counts, NNTP: srv, Listener: l}
	tb.Cleanup(s.Stop)
	return s
}

// Stop closes the server and its connections, then the Receiver.
func (s *Server) Stop() {
	s.NNTP.Close()
	s.Receiver.Close()
}

// NewArticle turns a raw article into what store.Insert takes, queued
// for peers.
func NewArticle(tb testing.TB, raw []byte, peers ...string) *store.NewArticle {
	tb.Helper()
	a, err := article.Parse(raw, article.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	groups, err := a.Newsgroups()
	if err != nil {
		tb.Fatal(err)
	}
	ov := a.Overview()
	now := time.Now()
	return &store.NewArticle{
		MessageID: a.Get("Message-ID"), Groups: groups, Header: a.Header, Body: a.Body,
		Arrived: now, Expires: now.Add(30 * 24 * time.Hour), Peers: peers,
		Subject: ov.Subject, From: ov.From, Date: ov.Date, References: ov.References,
		Bytes: ov.Bytes, Lines: ov.Lines,
	}
}

// Joined returns a stored article as one byte string (header, blank
// line, body).
func Joined(a *nntp.Article) []byte {
	out := append([]byte{}, a.Header...)
	out = append(out, '\r', '\n')
	return append(out, a.Body...)
}
