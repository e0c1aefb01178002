package mail2news

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
)

func deliver(t *testing.T, gw *Gateway, mail []byte, recipients ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := gw.Deliver(ctx, mail, recipients)
	return err
}

// mailHeadersGone checks that nothing of the test mails' headers reached
// the stored article.
func mailHeadersGone(t *testing.T, a storedArticle) {
	t.Helper()
	h := string(a.Header)
	for _, leak := range []string{"Received:", "To:", "Date: Tue, 14 Nov 2023", "User-Agent:", "X-Mailer:", "Organization:",
		"sender.example", "Alice", "alice", "192.0.2.7", "Thunderbird", "Delivered-To:", "X-Original-To:", "Return-Path:"} {
		if strings.Contains(h, leak) {
			t.Errorf("article %d header leaks %q:\n%s", a.Number, leak, h)
		}
	}
	if !strings.Contains(h, "From: Anonymous <nobody@invalid>") {
		t.Errorf("article %d has another From:\n%s", a.Number, h)
	}
	if !bytes.HasPrefix(a.Body, []byte("-----BEGIN PGP MESSAGE-----\r\n\r\n")) {
		t.Errorf("article %d body is not a bare armor:\n%s", a.Number, a.Body)
	}
}

// TestDeliverInjection posts the kinds of mail real clients send through
// the real injection backend on sqlite and reads the group back.
func TestDeliverInjection(t *testing.T) {
	srv := startInjectionServer(t)
	gw := &Gateway{Config: Config{GroupFromAddress: true}, Poster: &NNTPPoster{Addr: srv.addr, Timeout: 10 * time.Second}}
	tag := "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4"
	good := []mailSpec{
		{kind: "inline", armors: [][]byte{encrypt(t)}, headers: []string{ng, "Subject: " + tag}},
		{kind: "qp", armors: [][]byte{encrypt(t)}, sig: "Alice", headers: []string{ng}},
		{kind: "base64", armors: [][]byte{encrypt(t)}, headers: []string{ng}},
		{kind: "pgpmime", armors: [][]byte{encrypt(t)}},
		{kind: "inline", armors: [][]byte{encrypt(t, "--comment", "leaky client 1.0")}, before: "Hello,", sig: "Alice Sender\n+1 555 0100", headers: []string{ng}},
	}
	bad := []struct {
		spec   mailSpec
		reason string
	}{
		{mailSpec{kind: "inline", armors: [][]byte{encrypt(t), encrypt(t)}, headers: []string{ng}}, ReasonTwoMessages},
		{mailSpec{kind: "inline", before: "no ciphertext here", headers: []string{ng}}, ReasonNoCiphertext},
		{mailSpec{kind: "inline", armors: [][]byte{encrypt(t)}, headers: []string{ng, "Control: cancel <a@b>"}}, ReasonControl},
		{mailSpec{kind: "inline", armors: [][]byte{encrypt(t)}, headers: []string{"Newsgroups: alt.test", "To: postmaster@gw.example"}}, ReasonGroup},
	}
	specs := append([]mailSpec(nil), good...)
	for _, b := range bad {
		specs = append(specs, b.spec)
	}
	mails := makeMails(t, specs)

	for i := range good {
		if err := deliver(t, gw, mails[i]); err != nil {
			t.Fatalf("good mail %d (%s): %v", i, good[i].kind, err)
		}
	}
	for i, b := range bad {
		err := deliver(t, gw, mails[len(good)+i])
		var r *Refusal
		if !errors.As(err, &r) || r.Code != b.reason || ExitCode(err) != ExitDataErr {
			t.Fatalf("bad mail %d: got %v, want refusal %s", i, err, b.reason)
		}
	}
	arts := readGroup(t, srv.addr, DefaultGroup)
	if len(arts) != len(good) {
		t.Fatalf("%d articles in the group, want %d", len(arts), len(good))
	}
	sawTag := false
	for _, a := range arts {
		mailHeadersGone(t, a)
		if strings.Contains(string(a.Header), "Subject: "+tag) {
			sawTag = true
		}
		if strings.Contains(string(a.Body), "Comment:") || strings.Contains(string(a.Body), "Version:") {
			t.Errorf("armor headers reached the group:\n%s", a.Body)
		}
	}
	if !sawTag {
		t.Errorf("the hsub Subject was not passed on")
	}
	t.Logf("first article as stored:\n%s", arts[0].Header)

	// The same mail again: the server refuses the body as a replay, which
	// for a gateway means an earlier try got through.
	err := deliver(t, gw, mails[0])
	if !errors.Is(err, ErrAlreadyPosted) || ExitCode(err) != ExitOK {
		t.Fatalf("second delivery of the same mail: %v (exit %d)", err, ExitCode(err))
	}
	if n := len(readGroup(t, srv.addr, DefaultGroup)); n != len(good) {
		t.Fatalf("%d articles after the replay, want %d", n, len(good))
	}

	// A body our own gate would fix but the server's refuses: skip our
	// gate, so the server's 441 reason is what comes back.
	raw := &Gateway{Config: Config{Canonicalize: func(b []byte) ([]byte, error) { return b, nil }}, Poster: gw.Poster}
	stored := gpgRun(t, []byte("not encrypted\n"), "--store", "--armor")
	err = deliver(t, raw, makeMail(t, mailSpec{kind: "inline", armors: [][]byte{stored}, headers: []string{ng}}))
	var r *Refusal
	if !errors.As(err, &r) || ExitCode(err) != ExitDataErr || r.Code == ReasonServerRefused {
		t.Fatalf("server refusal: %v", err)
	}
	t.Logf("server refusal: %v", err)

	// Server down: try again later, nothing lost.
	srv.stop()
	later := makeMail(t, mailSpec{kind: "inline", armors: [][]byte{encrypt(t)}, headers: []string{ng}})
	err = deliver(t, gw, later)
	var te *TempError
	if !errors.As(err, &te) || ExitCode(err) != ExitTempFail {
		t.Fatalf("server down: %v (exit %d)", err, ExitCode(err))
	}
	srv.start()
	if err := deliver(t, gw, later); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if n := len(readGroup(t, srv.addr, DefaultGroup)); n != len(good)+1 {
		t.Fatalf("%d articles after the retry, want %d", n, len(good)+1)
	}
}

// TestPosterDotStuffing sends an article whose body has lines starting with
// "." through NNTPPoster and reads it back unchanged.
func TestPosterDotStuffing(t *testing.T) {
	mem := nntpmem.New(DefaultGroup)
	srv := startMemServer(t, mem, nil)
	p := &NNTPPoster{Addr: srv.addr, Timeout: 10 * time.Second}
	body := ".starts with a dot\r\n..two dots\r\n.\r\nlast\r\n"
	art := "Newsgroups: " + DefaultGroup + "\r\nSubject: dots\r\nFrom: " + AnonymousFrom + "\r\n\r\n" + body
	if err := p.Post(context.Background(), []byte(art)); err != nil {
		t.Fatal(err)
	}
	arts := readGroup(t, srv.addr, DefaultGroup)
	if len(arts) != 1 || string(arts[0].Body) != body {
		t.Fatalf("body came back as %q, want %q", arts[0].Body, body)
	}
}

// TestPosterServerAnswers covers the answers of the server that are not
// about the mail: each defers it.
func TestPosterServerAnswers(t *testing.T) {
	mail := makeMail(t, mailSpec{kind: "inline", armors: [][]byte{encrypt(t)}, headers: []string{ng}})

	t.Run("temporary failure 441", func(t *testing.T) {
		mem := nntpmem.New(DefaultGroup)
		mem.Check = func([]byte) error { return nntp.ErrTryLater }
		srv := startMemServer(t, mem, nil)
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.addr}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("got %v, want a temporary failure", err)
		}
	})
	t.Run("posting not permitted", func(t *testing.T) {
		mem := nntpmem.New(DefaultGroup)
		mem.Anonymous = nntp.Permissions{}
		srv := startMemServer(t, mem, nil)
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.addr}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("got %v, want a temporary failure", err)
		}
	})
	t.Run("authinfo", func(t *testing.T) {
		mem := nntpmem.New(DefaultGroup)
		mem.Anonymous = nntp.Permissions{}
		mem.Check = bodyCheck
		mem.AddUser("gateway", "s3cret")
		srv := startMemServer(t, mem, nil)
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.addr, User: "gateway", Password: "wrong"}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("wrong password: got %v, want a temporary failure", err)
		}
		if err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.addr, User: "gateway", Password: "s3cret"}}, mail); err != nil {
			t.Fatalf("right password: %v", err)
		}
	})
	t.Run("starttls", func(t *testing.T) {
		serverTLS, pool, _, _ := selfSigned(t)
		mem := nntpmem.New(DefaultGroup)
		mem.Check = bodyCheck
		srv := startMemServer(t, mem, serverTLS)
		if err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.addr, TLS: &tls.Config{RootCAs: pool}}}, mail); err != nil {
			t.Fatalf("with STARTTLS: %v", err)
		}
		// An untrusted certificate defers the mail rather than post in
		// clear or bounce.
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.addr, TLS: &tls.Config{}}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("untrusted certificate: got %v, want a temporary failure", err)
		}
		plain := startMemServer(t, nntpmem.New(DefaultGroup), nil)
		err = deliver(t, &Gateway{Poster: &NNTPPoster{Addr: plain.addr, TLS: &tls.Config{RootCAs: pool}}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("server without STARTTLS: got %v, want a temporary failure", err)
		}
	})
	t.Run("silent server times out", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // never greets
			}
		}()
		err = deliver(t, &Gateway{Poster: &NNTPPoster{Addr: l.Addr().String(), Timeout: 500 * time.Millisecond}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("got %v, want a temporary failure", err)
		}
	})
}
