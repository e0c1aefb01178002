package mail2news

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/internal/testlog"
	"github.com/altcrypt/altcrypt/mail2news/m2ntest"
)

// smtpListener is a gateway SMTP server on 127.0.0.1 with its log.
type smtpListener struct {
	addr string
	port string
	logs *testlog.Buffer
}

func startSMTP(t *testing.T, newsAddr string, cfg Config, opt SMTPOptions) *smtpListener {
	t.Helper()
	logs := &testlog.Buffer{}
	gw := &Gateway{Config: cfg, Poster: &NNTPPoster{Addr: newsAddr, Timeout: 10 * time.Second}, Log: slog.New(slog.NewTextHandler(logs, nil))}
	if opt.Domain == "" {
		opt.Domain = "gw.example"
	}
	if opt.Accept == nil {
		opt.Accept = []string{"mail2news-*@gw.example"}
	}
	srv, err := NewSMTPServer(context.Background(), gw, opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return &smtpListener{addr: l.Addr().String(), port: port, logs: logs}
}

type smtpResult struct {
	Stage string `json:"stage"`
	Code  int    `json:"code"`
	Msg   string `json:"msg"`
	TLS   bool   `json:"tls"`
}

// sendSMTP sends the mails with Python's smtplib over one connection.
func sendSMTP(t *testing.T, l *smtpListener, to []string, extra []string, mails ...[]byte) []smtpResult {
	t.Helper()
	dir := t.TempDir()
	args := []string{m2ntest.Script("sendmail.py"), "--port", l.port}
	for _, a := range to {
		args = append(args, "--to", a)
	}
	args = append(args, extra...)
	for i, m := range mails {
		p := filepath.Join(dir, "m"+string(rune('a'+i))+".eml")
		if err := os.WriteFile(p, m, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	cmd := exec.Command(python3(), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sendmail.py: %v\n%s", err, stderr.String())
	}
	var res []smtpResult
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r smtpResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("sendmail.py said %q: %v", line, err)
		}
		res = append(res, r)
	}
	if len(res) != len(mails) {
		t.Fatalf("%d results for %d mails: %s", len(res), len(mails), out)
	}
	return res
}

const rcpt = "mail2news-alt.crypt.messages@gw.example"

func TestSMTP(t *testing.T) {
	news := m2ntest.StartInjectionServer(t)
	cert := testcert.New(t)
	serverTLS, certFile := cert.Server, cert.CertFile
	l := startSMTP(t, news.Addr, Config{GroupFromAddress: true}, SMTPOptions{TLS: serverTLS})

	mails := makeMails(t, []mailSpec{
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Sig: "Alice"},
		{Kind: "pgpmime", Armors: [][]byte{encrypt(t)}},
		{Kind: "inline", Armors: [][]byte{encrypt(t), encrypt(t)}},
		{Kind: "base64", Before: "nothing encrypted"},
		{Kind: "inline", Armors: [][]byte{encrypt(t)}},
	})
	res := sendSMTP(t, l, []string{rcpt}, []string{"--starttls", "--cafile", certFile}, mails[:4]...)
	want := []struct {
		code   int
		reason string
	}{{250, ""}, {250, ""}, {554, ReasonTwoMessages}, {554, ReasonNoCiphertext}}
	for i, w := range want {
		if !res[i].TLS || res[i].Code != w.code || !strings.Contains(res[i].Msg, w.reason) {
			t.Errorf("mail %d: %+v, want %d %s over TLS", i, res[i], w.code, w.reason)
		}
	}
	arts := readGroup(t, news.Addr, DefaultGroup)
	if len(arts) != 2 {
		t.Fatalf("%d articles, want 2", len(arts))
	}
	for _, a := range arts {
		mailHeadersGone(t, a)
	}

	// Unknown recipients are refused at RCPT.
	res = sendSMTP(t, l, []string{"postmaster@gw.example"}, nil, mails[4])
	if res[0].Stage != "rcpt" || res[0].Code != 550 {
		t.Errorf("unknown recipient: %+v, want 550 at RCPT", res[0])
	}

	// The news server is down during DATA: 451, nothing posted; the
	// client's retry later goes through.
	news.Stop()
	res = sendSMTP(t, l, []string{rcpt}, nil, mails[4])
	if res[0].Code != 451 {
		t.Errorf("news server down: %+v, want 451", res[0])
	}
	news.Start()
	if n := len(readGroup(t, news.Addr, DefaultGroup)); n != 2 {
		t.Fatalf("%d articles after the failed delivery, want 2", n)
	}
	res = sendSMTP(t, l, []string{rcpt}, nil, mails[4])
	if res[0].Code != 250 {
		t.Errorf("retry: %+v, want 250", res[0])
	}
	if n := len(readGroup(t, news.Addr, DefaultGroup)); n != 3 {
		t.Fatalf("%d articles after the retry, want 3", n)
	}

	// At the default level a posted mail leaves no line (its time and
	// size would match an article of the next release); refusals do.
	if logs := l.logs.String(); strings.Contains(logs, "result=posted") || !strings.Contains(logs, "result=refused") {
		t.Errorf("default-level log of posted and refused mails:\n%s", logs)
	}
	// The news server's address may be logged (it is configuration); the
	// client's may not.
	if logs := strings.ReplaceAll(l.logs.String(), news.Addr, "NEWS"); strings.Contains(logs, "127.0.0.1") || strings.Contains(logs, "sender.example") || strings.Contains(logs, "gw.example") {
		t.Errorf("addresses in the log without --log-addresses:\n%s", logs)
	}
}

// TestSMTPCutDuringPost cuts the NNTP connection while the article is being
// sent: the SMTP client gets 451, and the group holds nothing of it.
func TestSMTPCutDuringPost(t *testing.T) {
	news := m2ntest.StartInjectionServer(t)
	cut := cuttingProxy(t, news.Addr, []byte("-----END PGP MESSAGE-----"))
	l := startSMTP(t, cut, Config{GroupFromAddress: true}, SMTPOptions{})
	mail := makeMail(t, mailSpec{Kind: "inline", Armors: [][]byte{encrypt(t)}})
	start := time.Now()
	res := sendSMTP(t, l, []string{rcpt}, nil, mail)
	t.Logf("cut delivery took %v; log:\n%s", time.Since(start), l.logs.String())
	if res[0].Code != 451 {
		t.Fatalf("cut during POST: %+v, want 451", res[0])
	}
	if n := len(readGroup(t, news.Addr, DefaultGroup)); n != 0 {
		t.Fatalf("%d articles after a cut POST, want 0", n)
	}
	// The retry, straight to the server, posts it once.
	direct := startSMTP(t, news.Addr, Config{GroupFromAddress: true}, SMTPOptions{})
	if res := sendSMTP(t, direct, []string{rcpt}, nil, mail); res[0].Code != 250 {
		t.Fatalf("retry: %+v", res[0])
	}
	if n := len(readGroup(t, news.Addr, DefaultGroup)); n != 1 {
		t.Fatalf("%d articles after the retry, want 1", n)
	}
}

// cuttingProxy forwards NNTP to target but closes both sides when the
// client sends marker, before forwarding it.
func cuttingProxy(t *testing.T, target string, marker []byte) string {
	t.Helper()
	return nntptest.Proxy(t, target, func(c, s net.Conn) {
		down := make(chan struct{})
		go func() { io.Copy(c, s); c.Close(); close(down) }()
		defer func() { c.Close(); s.Close(); <-down }()
		var seen []byte
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				seen = append(seen, buf[:n]...)
				if i := bytes.Index(seen, marker); i >= 0 {
					s.Write(seen[:i])
					return
				}
				// Hold back only a tail that could start the
				// marker; forward the rest now.
				keep := 0
				for k := min(len(marker)-1, len(seen)); k > 0; k-- {
					if bytes.HasPrefix(marker, seen[len(seen)-k:]) {
						keep = k
						break
					}
				}
				s.Write(seen[:len(seen)-keep])
				seen = append([]byte(nil), seen[len(seen)-keep:]...)
			}
			if err != nil {
				return
			}
		}
	})
}

func TestSMTPLimits(t *testing.T) {
	news := m2ntest.StartInjectionServer(t)
	mails := makeMails(t, []mailSpec{
		{Kind: "inline", Armors: [][]byte{encrypt(t)}},
		{Kind: "inline", Armors: [][]byte{encrypt(t)}},
		{Kind: "inline", Armors: [][]byte{encrypt(t)}, Before: strings.Repeat("padding line of the mail\n", 400)},
	})

	t.Run("size", func(t *testing.T) {
		l := startSMTP(t, news.Addr, Config{GroupFromAddress: true, MaxSize: 4000}, SMTPOptions{})
		res := sendSMTP(t, l, []string{rcpt}, nil, mails[2])
		if res[0].Code != 552 {
			t.Fatalf("oversized mail: %+v, want 552", res[0])
		}
	})
	t.Run("rate per client address", func(t *testing.T) {
		l := startSMTP(t, news.Addr, Config{GroupFromAddress: true}, SMTPOptions{RatePerMinute: 1})
		res := sendSMTP(t, l, []string{rcpt}, nil, mails[0], mails[1])
		if res[0].Code != 250 || res[1].Stage != "mail" || res[1].Code != 451 {
			t.Fatalf("rate limit: %+v", res)
		}
	})
	t.Run("rate per sender", func(t *testing.T) {
		l := startSMTP(t, news.Addr, Config{GroupFromAddress: true}, SMTPOptions{RatePerMinute: 1, RateBy: "sender"})
		res := sendSMTP(t, l, []string{rcpt}, []string{"--from", "bob@other.example"}, mails[1])
		if res[0].Code != 250 {
			t.Fatalf("first mail of a sender: %+v", res[0])
		}
		res = sendSMTP(t, l, []string{rcpt}, []string{"--from", "bob@other.example"}, mails[1])
		if res[0].Stage != "mail" || res[0].Code != 451 {
			t.Fatalf("second mail of the sender: %+v", res[0])
		}
	})
	t.Run("log addresses when asked", func(t *testing.T) {
		l := startSMTP(t, news.Addr, Config{GroupFromAddress: true}, SMTPOptions{LogAddresses: true})
		sendSMTP(t, l, []string{"nobody@gw.example"}, nil, mails[0])
		if !strings.Contains(l.logs.String(), "127.0.0.1") {
			t.Fatalf("--log-addresses logged no address:\n%s", l.logs.String())
		}
	})
}

func TestMatchAddress(t *testing.T) {
	for _, tc := range []struct {
		pat, addr string
		want      bool
	}{
		{"mail2news-*@gw.example", "mail2news-alt.crypt.messages@gw.example", true},
		{"mail2news-*@gw.example", "mail2news-@gw.example", true},
		{"mail2news-*@gw.example", "mail2news-x@evil.example", false},
		{"mail2news-*@gw.example", "mail2news-x@evil.example@gw.example", false},
		{"*@gw.example", "anyone@gw.example", true},
		{"post@gw.example", "post@gw.example", true},
		{"post@gw.example", "post2@gw.example", false},
		{"*", "a@b", false},
		{"a*b*c@d", "axxbyyc@d", true},
	} {
		if got := matchAddress(tc.pat, tc.addr); got != tc.want {
			t.Errorf("matchAddress(%q, %q) = %v", tc.pat, tc.addr, got)
		}
	}
}

func TestSMTPErrorLogScrubs(t *testing.T) {
	var buf bytes.Buffer
	l := &smtpErrorLog{log: slog.New(slog.NewTextHandler(&buf, nil))}
	l.Printf("error handling %v: %s", &net.TCPAddr{IP: net.ParseIP("192.0.2.9"), Port: 4321}, "boom")
	if strings.Contains(buf.String(), "192.0.2.9") || !strings.Contains(buf.String(), "boom") {
		t.Fatalf("log line %q", buf.String())
	}
	var _ smtp.Logger = l
}

func TestRateLimiter(t *testing.T) {
	rl := newRateLimiter(2, time.Minute)
	now := time.Unix(1000, 0)
	if !rl.allow("a", now) || !rl.allow("a", now) || rl.allow("a", now) {
		t.Fatal("third event in the window allowed")
	}
	if !rl.allow("b", now) {
		t.Fatal("another key limited")
	}
	if !rl.allow("a", now.Add(time.Minute)) {
		t.Fatal("new window still limited")
	}
}
