package m2ntest

import (
	"bufio"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/buildtest"
)

// Nntpd is the real news server binary on a sqlite store, releasing each
// post at once, listening on a fixed 127.0.0.1 port so that it can be
// stopped and started again at the same address.
type Nntpd struct {
	Addr string
	t    testing.TB
	bin  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  strings.Builder
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// StartNntpd builds cmd/nntpd and starts it.
func StartNntpd(t testing.TB) *Nntpd {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	n := &Nntpd{
		Addr: addr,
		t:    t,
		bin:  buildtest.Build(t, dir, "cmd/nntpd"),
		args: []string{"--listen", addr, "--db", "sqlite:" + filepath.Join(dir, "news.db"), "--release-interval", "0",
			"--name", "news.test", "--groups", "alt.crypt.messages"},
	}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Start runs the server and waits until it listens.
func (n *Nntpd) Start() {
	n.t.Helper()
	var last string
	for try := 0; try < 20; try++ {
		if n.startOnce() {
			return
		}
		last = n.Log()
		time.Sleep(250 * time.Millisecond) // the port may still be held
	}
	n.t.Fatalf("nntpd did not start:\n%s", last)
}

func (n *Nntpd) startOnce() bool {
	cmd := exec.Command(n.bin, n.args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	done := make(chan struct{})
	up := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.log.WriteString(sc.Text() + "\n")
			n.mu.Unlock()
			if listening.MatchString(sc.Text()) {
				select {
				case up <- struct{}{}:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-up:
		n.mu.Lock()
		n.cmd, n.done = cmd, done
		n.mu.Unlock()
		return true
	case <-done:
		return false
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		return false
	}
}

// Stop ends the server (SIGTERM, then SIGKILL) and waits for it.
func (n *Nntpd) Stop() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Log returns what the server wrote so far.
func (n *Nntpd) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}
