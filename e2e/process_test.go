package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/internal/buildtest"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
)

// nntpdBinary builds cmd/nntpd into t's temporary directory.
func nntpdBinary(t *testing.T) string {
	t.Helper()
	return buildtest.Build(t, t.TempDir(), "cmd/nntpd")
}

// process is a running nntpd.
type process struct {
	cmd     *exec.Cmd
	Addr    string // plain NNTP
	TLSAddr string // NNTPS, when --tls-listen was given
	mu      sync.Mutex
	log     strings.Builder
	done    chan struct{}
}

var listenLine = regexp.MustCompile(`msg=listening addr=(\S+) tls=(\w+)`)

// startNntpd runs the binary with args and waits until it listens.
func startNntpd(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--name", "news.example", "--domain", "id.news.example"}, args...)...)
	cmd.Dir = t.TempDir()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			if m := listenLine.FindStringSubmatch(line); m != nil {
				if m[2] == "true" {
					p.TLSAddr = m[1]
				} else {
					p.Addr = m[1]
				}
			}
			p.mu.Unlock()
			if strings.Contains(line, "msg=serving") {
				close(ready)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("nntpd exited at start:\n%s", p.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("nntpd did not listen within 30s:\n%s", p.Log())
	}
	return p
}

func (p *process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// TestDurabilityAfterSIGKILL: every post answered 240 survives a SIGKILL
// that comes right after the last answer, whether it was still pending
// (long release interval) or released at once, on both stores.
func TestDurabilityAfterSIGKILL(t *testing.T) {
	bin := nntpdBinary(t)
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, interval := range []string{"1h", "0"} {
			t.Run("release-interval="+interval, func(t *testing.T) {
				testDurability(t, bin, k.dsn(t), interval)
			})
		}
	})
}

func testDurability(t *testing.T, bin, db, interval string) {
	gpg := gpgtest.NewKey(t)
	const total, killAt, posters = 48, 32, 4
	bodies := make([][]byte, total)
	for i := range bodies {
		bodies[i] = gpg.EncryptText(t, fmt.Sprintf("durable %02d\n", i))
	}
	p := startNntpd(t, bin, "--db", db, "--release-interval", interval)

	// Posters take bodies from a shared counter; the test kills the server
	// as soon as killAt posts were answered 240. Answers that arrive in
	// the same instant count too: each of them must survive.
	var next atomic.Int64
	var mu sync.Mutex
	answered := map[int]bool{}
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := nntp.Dial(context.Background(), p.Addr, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if err := c.Post(context.Background(), postArticle("x", bodies[i])); err != nil {
					return // the server is gone
				}
				mu.Lock()
				answered[i] = true
				n := len(answered)
				mu.Unlock()
				if n >= killAt {
					once.Do(func() {
						p.cmd.Process.Signal(syscall.SIGKILL)
						close(killed)
					})
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d posts answered before the posters stopped:\n%s", len(answered), p.Log())
	}
	<-p.done
	t.Logf("%d posts answered 240 before SIGKILL", len(answered))

	// Restart on the same store, releasing at once, and find every answer.
	q := startNntpd(t, bin, "--db", db, "--release-interval", "0")
	want := map[string]int{}
	for i := range answered {
		c, err := armor.Canonicalize(gpgtest.CRLF(bodies[i]), armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true})
		if err != nil {
			t.Fatal(err)
		}
		want[string(c.Body)] = i
	}
	c := dial(t, q.Addr)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		found, stored := bodiesInGroup(t, c)
		missing := 0
		for body := range want {
			if !found[body] {
				missing++
			}
		}
		if missing == 0 {
			if stored > total {
				t.Errorf("%d articles stored from %d posts", stored, total)
			}
			t.Logf("all %d answered posts found among %d stored", len(want), stored)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d answered posts missing after restart:\n%s", missing, len(want), q.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// And they still decrypt.
	_, _, body, err := c.Body(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	r := gpg.Decrypt(body)
	if plain, status := string(r.Stdout), r.Status; !strings.HasPrefix(plain, "durable ") || !strings.Contains(status, "DECRYPTION_OKAY") {
		t.Errorf("article 1 decrypts to %q", plain)
	}
}

// bodiesInGroup reads every body in the group.
func bodiesInGroup(t *testing.T, c *nntp.Client) (map[string]bool, int) {
	t.Helper()
	ctx := context.Background()
	g, err := c.Group(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	if g.Count == 0 {
		return found, 0
	}
	for n := g.Low; n <= g.High; n++ {
		_, _, body, err := c.Body(ctx, fmt.Sprint(n))
		if err != nil {
			continue
		}
		found[string(body)] = true
	}
	return found, len(found)
}

// TestGracefulShutdown: SIGTERM makes nntpd finish and exit 0.
func TestGracefulShutdown(t *testing.T) {
	p := startNntpd(t, nntpdBinary(t), "--db", sqliteKind().dsn(t))
	c := dial(t, p.Addr)
	if _, err := c.Group(context.Background(), group); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		t.Fatal("no exit 40s after SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(p.Log(), "msg=stopped") {
		t.Errorf("exit %d:\n%s", code, p.Log())
	}
}
