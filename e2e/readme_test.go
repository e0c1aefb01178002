package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	_, sec, ok := strings.Cut(string(data), "\n"+title+"\n")
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

// TestReadmeNextSteps runs the README's "Next steps" as a new user would
// in a fresh directory: build, start nntpd, send and read a first message
// with pool, look at the group with tin and slrn. The only change is the
// port (a free one instead of 1119), given through ALTCRYPT_LISTEN and
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
		out := shell(strings.Join(script, "\n"), dir)
		script = nil
		return out
	}
	sawPool, poolOut := false, ""
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "go build "):
			// Built from the repository into the fresh directory.
			shell(strings.Replace(line, " bin/", " "+dir+"/bin/", 1), buildtest.RepoRoot())
		case strings.HasPrefix(line, "bin/nntpd"):
			startReadmeNntpd(t, dir, env, line, addr)
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

// startReadmeNntpd runs line (bin/nntpd ...) in dir until the test ends.
func startReadmeNntpd(t *testing.T, dir string, env []string, line, addr string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", "exec "+line)
	cmd.Dir, cmd.Env = dir, env
	logf, err := os.Create(filepath.Join(dir, "nntpd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s did not listen on %s:\n%s", line, addr, log)
		}
		time.Sleep(100 * time.Millisecond)
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
