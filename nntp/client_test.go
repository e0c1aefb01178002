package nntp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/nntp"
)

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var e *nntp.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("got %v, want code %d", err, code)
	}
}

// TestClientRoundTrips runs every Client method against the server.
func TestClientRoundTrips(t *testing.T) {
	mem := newMem(t)
	mem.AddUser("u", "p")
	cert := testcert.New(t)
	serverTLS, clientTLS := cert.Server, cert.Client()
	_, addr := startServer(t, mem, func(s *nntp.Server) {
		s.TLSConfig = serverTLS
		s.AllowInsecureAuth = false
	})
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	c, err := nntp.Dial(ctx, addr, &nntp.ClientOptions{TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, _ := c.Greeting(); code != 200 || !c.PostingAllowed() {
		t.Fatalf("greeting %d", code)
	}
	caps, err := c.Capabilities(ctx)
	if err != nil || caps[0] != "VERSION 2" {
		t.Fatalf("capabilities %q %v", caps, err)
	}
	wantCode(t, c.AuthInfo(ctx, "u", "p"), 483)
	if err := c.StartTLS(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !c.IsTLS() {
		t.Fatal("not TLS after StartTLS")
	}
	wantCode(t, c.AuthInfo(ctx, "u", "wrong"), 481)
	if err := c.AuthInfo(ctx, "u", "p"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.ModeReader(ctx); err != nil || !ok {
		t.Fatalf("mode reader %v %v", ok, err)
	}

	g, err := c.Group(ctx, "alt.test")
	if err != nil || g != (nntp.Group{Name: "alt.test", Count: 3, Low: 1, High: 3}) {
		t.Fatalf("group %+v %v", g, err)
	}
	_, err = c.Group(ctx, "nosuch")
	wantCode(t, err, 411)
	g, nums, err := c.ListGroup(ctx, "alt.test", &nntp.Range{Low: 2, High: -1})
	if err != nil || g.Count != 3 || fmt.Sprint(nums) != "[2 3]" {
		t.Fatalf("listgroup %+v %v %v", g, nums, err)
	}
	if _, nums, err = c.ListGroup(ctx, "", nil); err != nil || fmt.Sprint(nums) != "[1 2 3]" {
		t.Fatalf("listgroup current %v %v", nums, err)
	}
	active, err := c.ListActive(ctx, "alt.*")
	if err != nil || len(active) != 2 || active[1] != (nntp.Group{Name: "alt.test", Low: 1, High: 3, Status: "y"}) {
		t.Fatalf("list active %+v %v", active, err)
	}
	lines, err := c.List(ctx, "OVERVIEW.FMT")
	if err != nil || len(lines) != 8 {
		t.Fatalf("overview.fmt %q %v", lines, err)
	}

	var ovs []*nntp.Overview
	err = c.Over(ctx, "1-", func(o *nntp.Overview) error { ovs = append(ovs, o); return nil })
	if err != nil || len(ovs) != 3 {
		t.Fatalf("over %v %v", ovs, err)
	}
	if o := ovs[1]; o.Number != 2 || o.Subject != "tab here" || o.References != "<1@test>" ||
		o.Bytes != int64(len(art2)) || o.Lines != 1 || o.Xref != "nntpmem alt.test:2 misc.other:1" {
		t.Fatalf("overview %+v", o)
	}
	err = c.Over(ctx, "<3@test>", func(o *nntp.Overview) error {
		if o.Number != 0 || o.MessageID != "<3@test>" {
			t.Errorf("over by id %+v", o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Over(ctx, "10-20", func(*nntp.Overview) error { return nil }), 423)
	// An error from the callback is returned after the response was read.
	stop := errors.New("stop")
	if err := c.Over(ctx, "1-3", func(*nntp.Overview) error { return stop }); err != stop {
		t.Fatalf("callback error: %v", err)
	}
	var hdrs []string
	err = c.Hdr(ctx, "Subject", "1-3", func(n int64, v string) error {
		hdrs = append(hdrs, fmt.Sprint(n, "=", v))
		return nil
	})
	if err != nil || strings.Join(hdrs, ",") != "1=first,2=tab here,3=third" {
		t.Fatalf("hdr %q %v", hdrs, err)
	}

	n, id, raw, err := c.Article(ctx, "1")
	if err != nil || n != 1 || id != "<1@test>" || string(raw) != string(art1) {
		t.Fatalf("article %d %s %q %v", n, id, raw, err)
	}
	n, id, raw, err = c.Article(ctx, "<2@test>")
	if err != nil || n != 0 || id != "<2@test>" || string(raw) != string(art2) {
		t.Fatalf("article by id %d %s %q %v", n, id, raw, err)
	}
	head, body, _ := strings.Cut(string(art3), "\r\n\r\n")
	if _, _, raw, err = c.Head(ctx, "<3@test>"); err != nil || string(raw) != head+"\r\n" {
		t.Fatalf("head %q %v", raw, err)
	}
	if _, _, raw, err = c.Body(ctx, "3"); err != nil || string(raw) != body {
		t.Fatalf("body %q %v", raw, err)
	}
	_, _, _, err = c.Article(ctx, "<nope@x>")
	wantCode(t, err, 430)
	_, _, _, err = c.Article(ctx, "99")
	wantCode(t, err, 423)
	if n, id, err = c.Stat(ctx, "1"); err != nil || n != 1 || id != "<1@test>" {
		t.Fatalf("stat %d %s %v", n, id, err)
	}
	if n, id, err = c.Next(ctx); err != nil || n != 2 || id != "<2@test>" {
		t.Fatalf("next %d %s %v", n, id, err)
	}
	if n, _, err = c.Last(ctx); err != nil || n != 1 {
		t.Fatalf("last %d %v", n, err)
	}
	_, _, err = c.Last(ctx)
	wantCode(t, err, 422)

	post := []byte("From: e@example.invalid\r\nNewsgroups: alt.test\r\nSubject: via client\r\nMessage-ID: <c1@x>\r\n\r\n.dot\r\n..two\r\n")
	if err := c.Post(ctx, post); err != nil {
		t.Fatal(err)
	}
	if _, _, raw, err = c.Article(ctx, "<c1@x>"); err != nil || string(raw) != string(post) {
		t.Fatalf("posted %q %v", raw, err)
	}
	err = c.Post(ctx, post)
	wantCode(t, err, 441)
	// Bare LF is sent as CRLF.
	if err := c.Post(ctx, []byte("Newsgroups: alt.test\nMessage-ID: <c2@x>\n\nlf")); err != nil {
		t.Fatal(err)
	}
	if _, _, raw, _ = c.Body(ctx, "<c2@x>"); string(raw) != "lf\r\n" {
		t.Fatalf("LF body %q", raw)
	}

	tart := []byte(transitArticle("<i1@x>", "alt.test", "ihave"))
	if err := c.IHave(ctx, "<i1@x>", tart); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.IHave(ctx, "<i1@x>", tart), 435)
	if err := c.ModeStream(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(ctx, "<s1@x>"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Check(ctx, "<i1@x>"), 438)
	if err := c.TakeThis(ctx, "<s1@x>", []byte(transitArticle("<s1@x>", "alt.test", "s"))); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.TakeThis(ctx, "<s1@x>", []byte(transitArticle("<s1@x>", "alt.test", "s"))), 439)

	var cmds []nntp.StreamCommand
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("<b%d@x>", i)
		cmds = append(cmds, nntp.StreamCommand{MessageID: id}, nntp.StreamCommand{
			MessageID: id, TakeThis: true, Article: []byte(transitArticle(id, "misc.other", strings.Repeat("x", 500))),
		})
	}
	res, err := c.Stream(ctx, cmds)
	if err != nil || len(res) != len(cmds) {
		t.Fatalf("stream %d %v", len(res), err)
	}
	for i, r := range res {
		if r.Err() != nil {
			t.Fatalf("stream result %d: %v", i, r.Err())
		}
	}
	g, _ = c.Group(ctx, "misc.other")
	if g.Count != 301 {
		t.Fatalf("misc.other has %d", g.Count)
	}

	d, err := c.Date(ctx)
	if err != nil || time.Since(d).Abs() > time.Minute {
		t.Fatalf("date %v %v", d, err)
	}
	ids, err := c.NewNews(ctx, "alt.*", start)
	if err != nil || len(ids) != 7 || ids[0] != "<1@test>" {
		t.Fatalf("newnews %d %q %v", len(ids), ids[:min(len(ids), 3)], err)
	}
	groups, err := c.NewGroups(ctx, start)
	if err != nil || len(groups) != 3 {
		t.Fatalf("newgroups %v %v", groups, err)
	}
	if code, msg, err := c.Command(ctx, "HELP x"); err != nil || code != 501 {
		t.Fatalf("command %d %q %v", code, msg, err)
	}
	if _, _, err := c.Command(ctx, "DATE\r\nQUIT"); err == nil {
		t.Fatal("command with CRLF accepted")
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClientDialTLSAndContext(t *testing.T) {
	cert := testcert.New(t)
	serverTLS, clientTLS := cert.Server, cert.Client()
	srv := &nntp.Server{Backend: newMem(t), Logger: testLogger(t), TLSConfig: serverTLS}
	l, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	c, err := nntp.DialTLS(ctx, l.Addr().String(), &nntp.ClientOptions{TLSConfig: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.IsTLS() {
		t.Fatal("not TLS")
	}
	if _, err := c.Group(ctx, "alt.test"); err != nil {
		t.Fatal(err)
	}
	// A cancelled context fails the command and the client afterwards.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Date(cctx); err == nil {
		t.Fatal("cancelled command succeeded")
	}
	if _, err := c.Date(ctx); err == nil {
		t.Fatal("client usable after an interrupted command")
	}
}

// TestClientLimits: the client bounds response lines and articles.
func TestClientLimits(t *testing.T) {
	srvConn, cliConn := net.Pipe()
	go func() {
		defer srvConn.Close()
		srvConn.Write([]byte("200 fake\r\n"))
		buf := make([]byte, 100)
		srvConn.Read(buf) // ARTICLE 1
		srvConn.Write([]byte("220 1 <a@b>\r\n" + strings.Repeat("x", 3000) + "\r\nshort\r\n.\r\n"))
		srvConn.Read(buf) // DATE
		srvConn.Write([]byte("111 20260101000000\r\n"))
		srvConn.Read(buf) // BODY
		srvConn.Write([]byte("222 1 <a@b>\r\n" + strings.Repeat("y\r\n", 100) + ".\r\n"))
		srvConn.Read(buf) // DATE
		srvConn.Write([]byte(strings.Repeat("1", 5000) + "\r\n"))
	}()
	c, err := nntp.NewClient(cliConn, &nntp.ClientOptions{MaxLineLength: 1000, MaxArticleSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, _, err := c.Article(ctx, "1"); err == nil {
		t.Fatal("overlong line accepted")
	}
	// The block was read to its end: the client is still in step.
	if _, err := c.Date(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.Body(ctx, "1"); err == nil {
		t.Fatal("oversized article accepted")
	}
	if _, err := c.Date(ctx); err == nil {
		t.Fatal("overlong status line accepted")
	}
}
