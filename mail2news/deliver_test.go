package mail2news

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/mail2news/m2ntest"
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
	if leaks := m2ntest.HeaderLeaks(a.Header); len(leaks) > 0 {
		t.Errorf("article %d header leaks %q:\n%s", a.Number, leaks, h)
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
	srv := m2ntest.StartInjectionServer(t)
	gw := &Gateway{Config: Config{GroupFromAddress: true}, Poster: &NNTPPoster{Addr: srv.Addr, Timeout: 10 * time.Second}}
	tag := "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4"
	good := []mailSpec{
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng, "Subject: " + tag}},
		{Kind: "qp", Armors: [][]byte{encrypt(t)}, Sig: "Alice", Headers: []string{ng}},
		{Kind: "base64", Armors: [][]byte{encrypt(t)}, Headers: []string{ng}},
		{Kind: "pgpmime", Armors: [][]byte{encrypt(t)}},
		{Kind: "inline", Armors: [][]byte{encrypt(t, "--comment", "leaky client 1.0")}, Before: "Hello,", Sig: "Alice Sender\n+1 555 0100", Headers: []string{ng}},
	}
	bad := []struct {
		spec   mailSpec
		reason string
	}{
		{mailSpec{Kind: "inline", Armors: [][]byte{encrypt(t), encrypt(t)}, Headers: []string{ng}}, ReasonTwoMessages},
		{mailSpec{Kind: "inline", Before: "no ciphertext here", Headers: []string{ng}}, ReasonNoCiphertext},
		{mailSpec{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng, "Control: cancel <a@b>"}}, ReasonControl},
		{mailSpec{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{"Newsgroups: alt.test", "To: postmaster@gw.example"}}, ReasonGroup},
	}
	specs := append([]mailSpec(nil), good...)
	for _, b := range bad {
		specs = append(specs, b.spec)
	}
	mails := makeMails(t, specs)

	for i := range good {
		if err := deliver(t, gw, mails[i]); err != nil {
			t.Fatalf("good mail %d (%s): %v", i, good[i].Kind, err)
		}
	}
	for i, b := range bad {
		err := deliver(t, gw, mails[len(good)+i])
		var r *Refusal
		if !errors.As(err, &r) || r.Code != b.reason || ExitCode(err) != ExitDataErr {
			t.Fatalf("bad mail %d: got %v, want refusal %s", i, err, b.reason)
		}
	}
	arts := readGroup(t, srv.Addr, DefaultGroup)
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
	if n := len(readGroup(t, srv.Addr, DefaultGroup)); n != len(good) {
		t.Fatalf("%d articles after the replay, want %d", n, len(good))
	}

	// A body our own gate would fix but the server's refuses: skip our
	// gate, so the server's 441 reason is what comes back.
	raw := &Gateway{Config: Config{Canonicalize: func(b []byte) ([]byte, error) { return b, nil }}, Poster: gw.Poster}
	stored := gpgRun(t, []byte("not encrypted\n"), "--store", "--armor")
	err = deliver(t, raw, makeMail(t, mailSpec{Kind: "inline", Armors: [][]byte{stored}, Headers: []string{ng}}))
	var r *Refusal
	if !errors.As(err, &r) || ExitCode(err) != ExitDataErr || r.Code == ReasonServerRefused {
		t.Fatalf("server refusal: %v", err)
	}
	t.Logf("server refusal: %v", err)

	// Server down: try again later, nothing lost.
	srv.Stop()
	later := makeMail(t, mailSpec{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng}})
	err = deliver(t, gw, later)
	var te *TempError
	if !errors.As(err, &te) || ExitCode(err) != ExitTempFail {
		t.Fatalf("server down: %v (exit %d)", err, ExitCode(err))
	}
	srv.Start()
	if err := deliver(t, gw, later); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if n := len(readGroup(t, srv.Addr, DefaultGroup)); n != len(good)+1 {
		t.Fatalf("%d articles after the retry, want %d", n, len(good)+1)
	}
}

// TestPosterDotStuffing sends an article whose body has lines starting with
// "." through NNTPPoster and reads it back unchanged.
func TestPosterDotStuffing(t *testing.T) {
	mem := nntpmem.New(DefaultGroup)
	srv := m2ntest.StartNewsServer(t, mem, nil)
	p := &NNTPPoster{Addr: srv.Addr, Timeout: 10 * time.Second}
	body := ".starts with a dot\r\n..two dots\r\n.\r\nlast\r\n"
	art := "Newsgroups: " + DefaultGroup + "\r\nSubject: dots\r\nFrom: " + AnonymousFrom + "\r\n\r\n" + body
	if err := p.Post(context.Background(), []byte(art)); err != nil {
		t.Fatal(err)
	}
	arts := readGroup(t, srv.Addr, DefaultGroup)
	if len(arts) != 1 || string(arts[0].Body) != body {
		t.Fatalf("body came back as %q, want %q", arts[0].Body, body)
	}
}

// TestPosterServerAnswers covers the answers of the server that are not
// about the mail: each defers it, except a refused login or an untrusted
// certificate, which the operator must fix (exit 78).
func TestPosterServerAnswers(t *testing.T) {
	mail := makeMail(t, mailSpec{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng}})

	t.Run("temporary failure 441", func(t *testing.T) {
		mem := nntpmem.New(DefaultGroup)
		mem.Check = func([]byte) error { return nntp.ErrTryLater }
		srv := m2ntest.StartNewsServer(t, mem, nil)
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.Addr}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("got %v, want a temporary failure", err)
		}
	})
	t.Run("posting not permitted", func(t *testing.T) {
		mem := nntpmem.New(DefaultGroup)
		mem.Anonymous = nntp.Permissions{}
		srv := m2ntest.StartNewsServer(t, mem, nil)
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.Addr}}, mail)
		if ExitCode(err) != ExitConfigErr { // 480: the gateway needs a login
			t.Fatalf("got %v, want a configuration error", err)
		}
	})
	t.Run("authinfo", func(t *testing.T) {
		mem := nntpmem.New(DefaultGroup)
		mem.Anonymous = nntp.Permissions{}
		mem.Check = bodyCheck
		mem.AddUser("gateway", "s3cret")
		srv := m2ntest.StartNewsServer(t, mem, nil)
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.Addr, User: "gateway", Password: "wrong"}}, mail)
		if ExitCode(err) != ExitConfigErr || strings.Count(err.Error(), "481") != 1 {
			t.Fatalf("wrong password: got %v, want a configuration error", err)
		}
		if err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.Addr, User: "gateway", Password: "s3cret"}}, mail); err != nil {
			t.Fatalf("right password: %v", err)
		}
	})
	t.Run("starttls", func(t *testing.T) {
		cert := testcert.New(t)
		serverTLS, pool := cert.Server, cert.Pool
		mem := nntpmem.New(DefaultGroup)
		mem.Check = bodyCheck
		srv := m2ntest.StartNewsServer(t, mem, serverTLS)
		if err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.Addr, TLS: &tls.Config{RootCAs: pool}}}, mail); err != nil {
			t.Fatalf("with STARTTLS: %v", err)
		}
		// An untrusted certificate is the gateway's configuration to fix
		// (exit 78): never post in clear, never bounce the mail.
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: srv.Addr, TLS: &tls.Config{}}}, mail)
		if ExitCode(err) != ExitConfigErr {
			t.Fatalf("untrusted certificate: got %v, want a configuration error", err)
		}
		plain := m2ntest.StartNewsServer(t, nntpmem.New(DefaultGroup), nil)
		err = deliver(t, &Gateway{Poster: &NNTPPoster{Addr: plain.Addr, TLS: &tls.Config{RootCAs: pool}}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("server without STARTTLS: got %v, want a temporary failure", err)
		}
	})
	t.Run("silent server times out", func(t *testing.T) {
		// Never greets.
		silent := nntptest.Serve(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		err := deliver(t, &Gateway{Poster: &NNTPPoster{Addr: silent, Timeout: 500 * time.Millisecond}}, mail)
		if ExitCode(err) != ExitTempFail {
			t.Fatalf("got %v, want a temporary failure", err)
		}
	})
}

// bodyCheck vets nntpmem posts the way injection does: the body must pass
// the armor gate.
func bodyCheck(raw []byte) error {
	_, body := m2ntest.SplitArticle(raw)
	if _, err := armor.Check(body, armor.DefaultPolicy()); err != nil {
		var ae *armor.Error
		if errors.As(err, &ae) {
			return &nntp.Error{Code: 441, Msg: ae.Error(), Err: nntp.ErrRejected}
		}
		return err
	}
	return nil
}
