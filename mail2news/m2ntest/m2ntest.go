// Package m2ntest holds the real components the mail-to-news tests run
// against: gpg-made ciphertext in a temporary GNUPGHOME, mails written by
// Python's email package (../testdata/makemail.py), SMTP clients from
// Python's smtplib (../testdata/sendmail.py), and an NNTP server on
// 127.0.0.1 running a node (nntpd's server) on a sqlite store, which can be
// stopped and started again on the same address.
package m2ntest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/store/sqlite/sqlitetest"
)

// Script returns the path of a script in mail2news/testdata.
func Script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// Python3 is the interpreter for the test scripts: the system's when there
// is one, since a version manager's shim (pyenv) costs seconds per start on
// a busy machine; else python3 from PATH.
func Python3() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// GPG is a temporary GNUPGHOME with one Curve25519 key pair without
// passphrase (gpgtest.OpenKey), whose Encrypt makes a fresh message on
// every call.
type GPG struct {
	*gpgtest.Key
	counter atomic.Int64
}

// NewGPG makes the home and key; call Close when done (it stops gpg-agent
// and removes the home). For TestMain, where there is no testing.T.
func NewGPG() (*GPG, error) {
	k, err := gpgtest.OpenKey()
	if err != nil {
		return nil, err
	}
	return &GPG{Key: k}, nil
}

// Encrypt returns fresh armored ciphertext to the key; every call
// encrypts a different plaintext, so no two bodies are replays. extra are
// more gpg options (--throw-keyids, --comment ...).
func (g *GPG) Encrypt(t testing.TB, extra ...string) []byte {
	t.Helper()
	return g.EncryptText(t, fmt.Sprintf("message %d for the pool\n", g.counter.Add(1)), extra...)
}

// MailSpec describes one mail for makemail.py.
type MailSpec struct {
	Kind    string   // inline, qp, base64, pgpmime, alternative, attachment
	Armors  [][]byte // armored blocks, in order
	Before  string   // text above the armor
	Sig     string   // mail signature under the armor
	Headers []string // "Name: value", replacing defaults of the same name
	Bare    bool     // no default headers (From, To, Received, ...)
}

// MakeMail builds one mail with Python's email package.
func MakeMail(t testing.TB, s MailSpec) []byte {
	t.Helper()
	return MakeMails(t, []MailSpec{s})[0]
}

// MakeMails builds many mails in one run of makemail.py (the
// interpreter's start is the slow part).
func MakeMails(t testing.TB, specs []MailSpec) [][]byte {
	t.Helper()
	dir := t.TempDir()
	type jsonSpec struct {
		Out              string   `json:"out"`
		Kind             string   `json:"kind"`
		Armor            []string `json:"armor"`
		Before           string   `json:"before"`
		Sig              string   `json:"sig"`
		Header           []string `json:"header"`
		NoDefaultHeaders bool     `json:"no_default_headers"`
	}
	var js []jsonSpec
	for i, s := range specs {
		j := jsonSpec{Out: filepath.Join(dir, fmt.Sprintf("m%d.eml", i)), Kind: s.Kind, Before: s.Before, Sig: s.Sig, Header: s.Headers, NoDefaultHeaders: s.Bare}
		for k, a := range s.Armors {
			p := filepath.Join(dir, fmt.Sprintf("m%d-a%d.asc", i, k))
			if err := os.WriteFile(p, a, 0o600); err != nil {
				t.Fatal(err)
			}
			j.Armor = append(j.Armor, p)
		}
		js = append(js, j)
	}
	specFile := filepath.Join(dir, "spec.json")
	b, err := json.Marshal(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Python3(), Script("makemail.py"), "--batch", specFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("makemail.py: %v\n%s", err, out)
	}
	mails := make([][]byte, len(js))
	for i, j := range js {
		if mails[i], err = os.ReadFile(j.Out); err != nil {
			t.Fatal(err)
		}
	}
	return mails
}

// NewsServer is an NNTP server on 127.0.0.1 that can be stopped and
// started again on the same address.
type NewsServer struct {
	Addr string
	t    testing.TB
	// serveOn serves l and returns what stops serving it, closing its
	// connections at once.
	serveOn func(l net.Listener) (stop func())

	mu   sync.Mutex
	stop func()
}

// StartInjectionServer runs what nntpd runs (a node: armor gate, fresh
// headers, replay refusal) as news.test, releasing posts at once, on a
// sqlite store in a temporary directory.
func StartInjectionServer(t testing.TB) *NewsServer {
	t.Helper()
	return StartNode(t, node.Config{Name: "news.test"})
}

// StartNode serves a node of cfg (posts released at once, AUTHINFO
// allowed in clear) on a fresh sqlite store. Stop and Start build it
// again on the same store.
func StartNode(t testing.TB, cfg node.Config) *NewsServer {
	t.Helper()
	cfg.AllowInsecureAuth = true
	st := sqlitetest.Open(t)
	return startOn(t, func(l net.Listener) func() {
		n, err := node.New(context.Background(), cfg, st)
		if err != nil {
			l.Close()
			t.Fatal(err)
		}
		go n.Serve(l)
		n.Start()
		return func() {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // no grace: close the connections at once
			n.Shutdown(ctx)
		}
	})
}

// StartNewsServer serves be (with STARTTLS when tlsCfg is set).
func StartNewsServer(t testing.TB, be nntp.Backend, tlsCfg *tls.Config) *NewsServer {
	t.Helper()
	return startOn(t, func(l net.Listener) func() {
		srv := &nntp.Server{Backend: be, Name: "news.test", AllowInsecureAuth: true, TLSConfig: tlsCfg}
		go srv.Serve(l)
		return func() { srv.Close() }
	})
}

func startOn(t testing.TB, serveOn func(net.Listener) func()) *NewsServer {
	t.Helper()
	s := &NewsServer{t: t, serveOn: serveOn}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

func (s *NewsServer) serve(l net.Listener) {
	stop := s.serveOn(l)
	s.mu.Lock()
	s.stop = stop
	s.mu.Unlock()
}

// Stop closes the server: connections are refused until Start.
func (s *NewsServer) Stop() {
	s.mu.Lock()
	stop := s.stop
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Start serves again on the same address.
func (s *NewsServer) Start() {
	s.t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(l)
}

// Article is one article as a reader gets it.
type Article struct {
	Number int64
	Header []byte // header lines, each ending in CRLF
	Body   []byte
}

// ReadGroup fetches every article of group with the nntp client.
func ReadGroup(t testing.TB, addr, group string) []Article {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, nums, err := c.ListGroup(ctx, group, nil)
	if err != nil {
		t.Fatalf("LISTGROUP %s: %v", group, err)
	}
	var out []Article
	for _, n := range nums {
		_, _, raw, err := c.Article(ctx, fmt.Sprint(n))
		if err != nil {
			t.Fatalf("ARTICLE %d: %v", n, err)
		}
		head, body := SplitArticle(raw)
		out = append(out, Article{Number: n, Header: head, Body: body})
	}
	c.Quit(ctx)
	return out
}

// SplitArticle splits at the first empty line; the header keeps its last
// line ending.
func SplitArticle(raw []byte) (head, body []byte) {
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(raw, []byte(sep)); i >= 0 {
			return raw[:i+len(sep)/2], raw[i+len(sep):]
		}
	}
	return raw, nil
}

// HeaderLeaks returns what of the test mails' headers (see makemail.py's
// defaults) shows in an article header; empty when nothing does.
func HeaderLeaks(header []byte) []string {
	var leaks []string
	h := string(header)
	for _, leak := range []string{"Received:", "To:", "Date: Tue, 14 Nov 2023", "User-Agent:", "X-Mailer:", "Organization:",
		"sender.example", "Alice", "alice", "192.0.2.7", "Thunderbird", "Delivered-To:", "X-Original-To:", "Return-Path:",
		"Envelope-to:", "X-Hashcash"} {
		if strings.Contains(h, leak) {
			leaks = append(leaks, leak)
		}
	}
	return leaks
}
