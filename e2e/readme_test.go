package e2e

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/buildtest"
)

// readmeSection returns the indented command lines of the README section
// whose heading is title, in order.
func readmeSection(t *testing.T, title string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(buildtest.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sec, ok := string(data), true
	if title != "" { // "": the opening, before the first section
		_, sec, ok = strings.Cut(sec, "\n"+title+"\n")
	}
	if !ok {
		t.Fatalf("README has no %q", title)
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	var lines []string
	for _, l := range strings.Split(sec, "\n") {
		if strings.HasPrefix(l, "    ") && strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

// TestReadmeNextSteps follows the README as a new user would, in a fresh
// copy of the repository (the files git would clone: nothing ignored or
// left around by a developer): the opening's `go run ./cmd/nntpd`, then
// "Next steps": build, start nntpd, send and read a first message with
// pool, look at the group with tin and slrn. The only change is the port
// (a free one instead of 1119), given through ALTCRYPT_LISTEN and
// ALTCRYPT_SERVER, which the README's commands honour.
func TestReadmeNextSteps(t *testing.T) {
	lines := readmeSection(t, "## Next steps")
	if len(lines) < 8 {
		t.Fatalf("too few commands: %q", lines)
	}
	dir, err := os.MkdirTemp("", "readme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o700)
	clone := filepath.Join(dir, "altcrypt")
	freshCopy(t, clone)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	l.Close()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C", "TERM=xterm",
		"ALTCRYPT_LISTEN=" + addr, "ALTCRYPT_SERVER=" + addr,
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOFLAGS=-mod=mod"}
	shell := func(line, wd string) string {
		t.Helper()
		cmd := exec.Command("bash", "-euc", line)
		cmd.Dir, cmd.Env = wd, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return string(out)
	}
	var script []string // pool's lines, run as one shell script
	flush := func() string {
		if len(script) == 0 {
			return ""
		}
		out := shell(strings.Join(script, "\n"), clone)
		script = nil
		return out
	}
	// The opening's first command serves at once, with nothing set up;
	// stopped (Ctrl-C) before the next steps start their own.
	first := readmeSection(t, "")
	if len(first) == 0 || !strings.HasPrefix(first[0], "go run ./cmd/nntpd") {
		t.Fatalf("the README does not open with go run ./cmd/nntpd: %q", first)
	}
	stop := startReadmeNntpd(t, clone, env, first[0], addr)
	// go run exits 1 when interrupted, whatever the server did: the
	// server's own last word says it stopped cleanly.
	if log, _ := stop(); !strings.Contains(log, "msg=stopped") || strings.Contains(log, "level=ERROR") {
		t.Errorf("%s after Ctrl-C:\n%s", first[0], log)
	}
	if _, err := os.Stat(filepath.Join(clone, "altcrypt.db")); err != nil {
		t.Errorf("%s made no embedded store: %v", first[0], err)
	}
	sawPool, poolOut := false, ""
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "go build "):
			shell(line, clone)
		case strings.HasPrefix(line, "bin/nntpd"):
			startReadmeNntpd(t, clone, env, line, addr)
		case strings.HasPrefix(line, "tin ") || strings.HasPrefix(line, "slrn "):
			poolOut += flush()
			newsreader(t, strings.ReplaceAll(line, "1119", port), env)
		default:
			sawPool = sawPool || strings.Contains(line, "pool read")
			script = append(script, line)
		}
	}
	poolOut += flush()
	if !sawPool || !strings.Contains(poolOut, "Hello, pool.") {
		t.Fatalf("pool read did not show the message:\n%s", poolOut)
	}
}

func goEnv(t *testing.T, key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// startReadmeNntpd runs line (bin/nntpd ..., go run ./cmd/nntpd) in dir
// until it listens on addr. stop interrupts it as Ctrl-C would (the whole
// process group: go run and the server it built) and returns how it
// exited, with its log; the test's end stops it otherwise.
func startReadmeNntpd(t *testing.T, dir string, env []string, line, addr string) (stop func() (string, error)) {
	t.Helper()
	cmd := exec.Command("bash", "-c", "exec "+line)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.CreateTemp("", "readme-nntpd-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var waitErr error
	var log []byte
	stop = func() (string, error) {
		once.Do(func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			waitErr = cmd.Wait()
			logf.Close()
			log, _ = os.ReadFile(logf.Name())
			os.Remove(logf.Name())
		})
		return string(log), waitErr
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); stop() })
	deadline := time.Now().Add(2 * time.Minute) // go run compiles first
	for {
		// Ready at the greeting: the port is bound before the store is
		// open (so a bad store leaves no listener behind), not served.
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			greeting, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(greeting, "20") {
				return stop
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s did not greet on %s:\n%s", line, addr, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freshCopy copies into dst the files a clone of the repository would
// hold: tracked ones, and new ones git does not ignore.
func freshCopy(t *testing.T, dst string) {
	t.Helper()
	root := buildtest.RepoRoot()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// newsreader runs a tin or slrn line in tmux and waits for the group's
// article list, with the message pool sent.
func newsreader(t *testing.T, line string, env []string) {
	t.Helper()
	name := strings.Fields(line)[0]
	tm := newTmux(t, "readme-"+name)
	tm.start("env -i " + strings.Join(env, " ") + " " + line)
	switch name {
	case "tin":
		tm.waitFor("Welcome to tin") // a fresh home: the welcome page first
		tm.keys("Enter")
	case "slrn":
		tm.waitFor(group)
		tm.keys("Enter")
	}
	s := tm.waitFor("Anonymous")
	if !strings.Contains(s, group) {
		t.Errorf("%s: screen:\n%s", name, s)
	}
	tm.keys("q")
	if name == "tin" {
		tm.waitFor("Group Selection")
		tm.keys("q")
		tm.waitFor("really want to quit")
		tm.keys("y")
	} else {
		tm.waitFor("News Groups")
		tm.keys("q")
		tm.waitFor("really want to quit")
		tm.keys("y")
	}
	if s := tm.waitFor("PROGRAM-EXITED="); !strings.Contains(s, "PROGRAM-EXITED=0") {
		t.Errorf("%s exited badly:\n%s", name, s)
	}
}

// TestPoolKeygenAsksUserID runs pool keygen on a terminal (tmux) without
// --name: it asks for the user ID, and the key carries what was typed.
func TestPoolKeygenAsksUserID(t *testing.T) {
	dir := t.TempDir()
	bin := buildtest.Build(t, dir, "cmd/pool")
	home := filepath.Join(dir, "home")
	tm := newTmux(t, "keygen")
	tm.start("env -i PATH=" + os.Getenv("PATH") + " TERM=xterm ALTCRYPT_HOME=" + home + " " + bin + " keygen > " + filepath.Join(dir, "pub.asc"))
	tm.waitFor("User ID:")
	tm.keys("Dora Maar <dora@example.org>", "Enter")
	if s := tm.waitFor("PROGRAM-EXITED="); !strings.Contains(s, "PROGRAM-EXITED=0") || !strings.Contains(s, `for "Dora Maar <dora@example.org>"`) {
		t.Fatalf("keygen:\n%s", s)
	}
	gpg := exec.Command("gpg", "--with-colons", "--show-keys", filepath.Join(dir, "pub.asc"))
	gpg.Env = append(os.Environ(), "GNUPGHOME="+t.TempDir())
	out, err := gpg.CombinedOutput()
	if err != nil || !strings.Contains(string(out), ":Dora Maar <dora@example.org>:") {
		t.Fatalf("gpg --show-keys: %v\n%s", err, out)
	}
}
