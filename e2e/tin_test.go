package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/backend"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
)

// tmux drives one interactive program on a private tmux server.
type tmux struct {
	t       *testing.T
	socket  string
	session string
}

func newTmux(t *testing.T, name string) *tmux {
	sock := fmt.Sprintf("altcrypt-e2e-%d-%s", os.Getpid(), name)
	tm := &tmux{t: t, socket: sock, session: name}
	t.Cleanup(func() { exec.Command("tmux", "-L", sock, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start runs shell command line in a new 120x40 window; the window stays
// after the program exits so its last screen can be read.
func (tm *tmux) start(line string) {
	tm.t.Helper()
	tm.run("new-session", "-d", "-s", tm.session, "-x", "120", "-y", "40", line+"; echo PROGRAM-EXITED=$?; sleep 600")
}

func (tm *tmux) screen() string {
	return tm.run("capture-pane", "-p", "-t", tm.session)
}

func (tm *tmux) keys(keys ...string) {
	tm.t.Helper()
	tm.run(append([]string{"send-keys", "-t", tm.session}, keys...)...)
}

// waitFor waits until the screen shows want and returns the screen.
func (tm *tmux) waitFor(want string) string {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := tm.screen()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed %q; last screen:\n%s", want, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTin reads the group and posts once with tin, a real newsreader,
// driven through tmux. The editor is a script that replaces the body tin
// prepared with gpg-made armor.
func TestTin(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		gpg := gpgtest.NewKey(t)
		srv := startServer(t, k.open(t), func(c *backend.Config) { c.ReleaseInterval = 0 })
		ctx := context.Background()
		c := dial(t, srv.Addr)
		if err := c.Post(ctx, postArticle("first", gpg.EncryptText(t, "posted before tin\n"))); err != nil {
			t.Fatal(err)
		}

		home, err := os.MkdirTemp("", "tin")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(home) })
		for _, d := range []string{".tin", "Mail", "News"} {
			os.MkdirAll(filepath.Join(home, d), 0o700)
		}
		// tin refuses a From whose domain has one label (docs/operations.md).
		write(t, filepath.Join(home, ".tin", "tinrc"), "mail_address=Tester <tester@example.test>\n")
		write(t, filepath.Join(home, ".newsrc"), group+":\n")
		write(t, filepath.Join(home, "armor.asc"), string(gpg.EncryptText(t, "posted with tin\n")))
		editor := filepath.Join(home, "editor.sh")
		write(t, editor, `#!/bin/sh
# tin calls: EDITOR +LINE FILE. Keep tin's headers, replace the body.
for f; do file=$f; done
python3 - "$file" "`+filepath.Join(home, "armor.asc")+`" <<'PY'
import sys
path, armor = sys.argv[1], sys.argv[2]
head = open(path).read().partition("\n\n")[0]
open(path, "w").write(head + "\n\n" + open(armor).read())
PY
`)
		os.Chmod(editor, 0o700)
		host, port, _ := net.SplitHostPort(srv.Addr)
		env := fmt.Sprintf("env -i HOME=%s PATH=%s TERM=xterm LANG=C EDITOR=%s VISUAL=%s", home, os.Getenv("PATH"), editor, editor)
		tinCmd := fmt.Sprintf("%s tin -r -g %s -p %s -Q -f %s/.newsrc", env, host, port, home)

		// Post once.
		post := newTmux(t, "post")
		post.start(tinCmd + " -w " + group)
		post.waitFor("Post subject")
		post.keys("Secret for Bob", "Enter")
		post.waitFor("p=post")
		post.keys("p")
		if s := post.waitFor("PROGRAM-EXITED="); !strings.Contains(s, "PROGRAM-EXITED=0") {
			t.Fatalf("tin -w failed:\n%s", s)
		}
		waitCount(t, srv.Store, 2)
		g, err := c.Group(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		_, _, raw, err := c.Article(ctx, fmt.Sprint(g.High))
		if err != nil {
			t.Fatal(err)
		}
		checkInjected(t, gpg, raw, "posted with tin\n")

		// Read: group list, article list, the article itself.
		read := newTmux(t, "read")
		read.start(tinCmd)
		read.waitFor(group)
		read.keys("Enter")
		s := read.waitFor("Anonymous")
		if strings.Count(s, "Anonymous") < 2 {
			// Two articles; tin may thread or list them on separate lines.
			t.Logf("thread list:\n%s", s)
		}
		read.keys("Enter")
		s = read.waitFor("-----END PGP MESSAGE-----")
		if !strings.Contains(s, "-----BEGIN PGP MESSAGE-----") || !strings.Contains(s, "Anonymous <nobody@invalid>") {
			t.Errorf("article screen:\n%s", s)
		}
		read.keys("q")
		read.keys("q")
		read.waitFor("Group Selection")
		read.keys("q")
		read.waitFor("really want to quit")
		read.keys("y")
		if s := read.waitFor("PROGRAM-EXITED="); !strings.Contains(s, "PROGRAM-EXITED=0") {
			t.Errorf("tin exited badly:\n%s", s)
		}
	})
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
