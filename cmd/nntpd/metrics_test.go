package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/corpustest"
)

// post sends one article by POST and returns the final status line.
func post(t *testing.T, addr, body string) string {
	t.Helper()
	c, r := dialNntp(t, addr)
	defer c.Close()
	c.Write([]byte("POST\r\n"))
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "340") {
		t.Fatalf("POST: %q", l)
	}
	art := "Newsgroups: alt.crypt.messages\r\nFrom: a <a@example.org>\r\nSubject: hello\r\n\r\n" +
		strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n") + ".\r\n"
	c.Write([]byte(art))
	l, _ := r.ReadString('\n')
	return strings.TrimSpace(l)
}

// TestMetrics: with --metrics-listen, /metrics shows an accepted and a
// refused POST, the refusal under the reason code its 441 carried.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	// A peer we feed that is down: its queue grows.
	stderr := startNntpd(t, "--db", "sqlite:"+filepath.Join(dir, "news.db"), "--listen", "127.0.0.1:0",
		"--metrics-listen", "127.0.0.1:0", "--name", "test.example", "--release-interval", "0", "--peers", downPeers(t, dir))
	waitFor(t, stderr, "msg=serving", `msg="metrics listening"`, `msg="feed: peer unreachable; retrying with backoff" peer=down`)
	nntpAddr := regexp.MustCompile(`listeners=(\S+)`).FindStringSubmatch(stderr.String())[1]
	metricsAddr := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`).FindStringSubmatch(stderr.String())[1]

	good, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "gpg-cv25519-one-recipient.asc"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "gpg-detached-signature.asc"))
	if err != nil {
		t.Fatal(err)
	}
	if got := post(t, nntpAddr, string(good)); !strings.HasPrefix(got, "240") {
		t.Fatalf("good post: %q", got)
	}
	refusal := post(t, nntpAddr, string(bad))
	m := regexp.MustCompile(`^441 ([a-z0-9-]+): `).FindStringSubmatch(refusal)
	if m == nil {
		t.Fatalf("bad post: %q", refusal)
	}
	reason := m[1]

	// The server counts a connection closed once its session has ended,
	// which may be just after the client's QUIT: scrape until it has.
	var text []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(text), "altcrypt_connections_open 0\n") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		`altcrypt_articles_stored_total{path="post"} 1`,
		`altcrypt_articles_refused_total{path="post",reason="` + reason + `"} 1`,
		`altcrypt_commands_total{class="2xx",command="POST"} 1`,
		`altcrypt_commands_total{class="4xx",command="POST"} 1`,
		`altcrypt_connections_open 0`,
		`altcrypt_panics_recovered_total 0`,
		`altcrypt_feed_queue_depth{peer="down"} 1`,
		`altcrypt_feed_articles_total{peer="down",result="sent"} 0`,
	} {
		if !strings.Contains(string(text), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^altcrypt_feed_failures_total\{peer="down"\} [1-9]`).Match(text) {
		t.Errorf("no feed failure counted:\n%s", grepLines(string(text), "altcrypt_feed"))
	}
	if !regexp.MustCompile(`(?m)^altcrypt_commit_seconds_count\{kind="pending"\} [1-9]`).Match(text) {
		t.Errorf("no commit timed:\n%s", grepLines(string(text), "altcrypt_commit"))
	}
	if t.Failed() {
		t.Logf("refusal %q; metrics:\n%s", refusal, grepLines(string(text), "altcrypt_"))
	}
	// The NNTP port does not serve metrics.
	if _, err := http.Get("http://" + nntpAddr + "/metrics"); err == nil {
		t.Error("the NNTP port answered HTTP")
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsListenNotNNTPPort(t *testing.T) {
	for _, c := range []struct {
		metrics, listen, tls string
		ok                   bool
	}{
		{"127.0.0.1:9119", "127.0.0.1:1119", "", true},
		{"127.0.0.1:1119", ":1119", "", false},
		{"127.0.0.1:563", ":119", ":563", false},
		{"127.0.0.1:0", "127.0.0.1:0", "", true},
		{"nonsense", ":119", "", false},
	} {
		if err := checkMetricsListen(c.metrics, c.listen, c.tls); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
