package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/mail2news/m2ntest"
)

var smtpListening = regexp.MustCompile(`msg="smtp listening" addr=(\S+)`)

// TestSMTPBinary runs `gateway smtp` as a process in front of the nntpd
// binary and drives it with Python's smtplib over STARTTLS.
func TestSMTPBinary(t *testing.T) {
	g := newGPG(t)
	news := m2ntest.StartNntpd(t)
	dir := t.TempDir()
	bin := buildtest.Build(t, dir, "cmd/gateway")
	cert := testcert.New(t)
	certFile, keyFile := cert.CertFile, cert.KeyFile

	cmd := exec.Command(bin, "smtp", "--listen", "127.0.0.1:0", "--domain", "gw.example",
		"--accept", "mail2news-*@gw.example", "--server", news.Addr, "--group-from-address",
		"--tls-cert", certFile, "--tls-key", keyFile, "--rate", "100")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var logs strings.Builder
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := smtpListening.FindStringSubmatch(sc.Text()); m != nil {
				addrCh <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	var addr string
	select {
	case addr = <-addrCh:
	case err := <-exited:
		t.Fatalf("gateway smtp exited: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("gateway smtp did not listen")
	}
	_, port, _ := net.SplitHostPort(addr)

	mails := m2ntest.MakeMails(t, []m2ntest.MailSpec{
		{Kind: "base64", Armors: [][]byte{g.Encrypt(t)}, Sig: "Alice"},
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}, Headers: []string{"Control: cancel <x@y>"}},
		{Kind: "inline", Armors: [][]byte{g.Encrypt(t)}},
	})
	send := func(mails ...[]byte) []map[string]any {
		t.Helper()
		args := []string{m2ntest.Script("sendmail.py"), "--port", port, "--to", "mail2news-alt.crypt.messages@gw.example", "--starttls", "--cafile", certFile}
		for i, m := range mails {
			p := filepath.Join(dir, fmt.Sprintf("send%d-%d.eml", time.Now().UnixNano(), i))
			os.WriteFile(p, m, 0o600)
			args = append(args, p)
		}
		out, err := exec.Command(m2ntest.Python3(), args...).Output()
		if err != nil {
			t.Fatalf("sendmail.py: %v", err)
		}
		var res []map[string]any
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var r map[string]any
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("sendmail.py said %q", line)
			}
			res = append(res, r)
		}
		return res
	}
	res := send(mails[0], mails[1])
	if res[0]["code"] != 250.0 || res[1]["code"] != 554.0 || !strings.Contains(res[1]["msg"].(string), "control: ") || res[0]["tls"] != true {
		t.Fatalf("answers: %v", res)
	}
	arts := m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")
	if len(arts) != 1 {
		t.Fatalf("%d articles, want 1", len(arts))
	}
	if leaks := m2ntest.HeaderLeaks(arts[0].Header); len(leaks) > 0 {
		t.Fatalf("the article shows %q of the mail:\n%s", leaks, arts[0].Header)
	}

	news.Stop()
	if res := send(mails[2]); res[0]["code"] != 451.0 {
		t.Fatalf("news server down: %v", res)
	}
	news.Start()
	if res := send(mails[2]); res[0]["code"] != 250.0 {
		t.Fatalf("after restart: %v", res)
	}
	if n := len(m2ntest.ReadGroup(t, news.Addr, "alt.crypt.messages")); n != 2 {
		t.Fatalf("%d articles, want 2", n)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("gateway smtp after SIGTERM: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("gateway smtp did not stop on SIGTERM")
	}
	logMu.Lock()
	defer logMu.Unlock()
	clientLogs := strings.ReplaceAll(strings.ReplaceAll(logs.String(), news.Addr, "NEWS"), addr, "LISTEN")
	if strings.Contains(clientLogs, "127.0.0.1") || strings.Contains(clientLogs, "sender.example") {
		t.Fatalf("client or envelope addresses in the log:\n%s", logs.String())
	}
	t.Logf("gateway smtp log:\n%s", logs.String())
}
