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

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
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
		r := startNewsreaderTest(t, k, "tin")
		for _, d := range []string{".tin", "Mail", "News"} {
			os.MkdirAll(filepath.Join(r.home, d), 0o700)
		}
		// tin refuses a From whose domain has one label (docs/operations.md).
		write(t, filepath.Join(r.home, ".tin", "tinrc"), "mail_address=Tester <tester@example.test>\n")
		write(t, filepath.Join(r.home, ".newsrc"), group+":\n")
		env := fmt.Sprintf("%s EDITOR=%s VISUAL=%s", r.env, r.editor, r.editor)
		tinCmd := fmt.Sprintf("%s tin -r -g %s -p %s -Q -f %s/.newsrc", env, r.host, r.port, r.home)

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
		r.checkPosted(t)

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

// newsreaderTest is a server holding one article, a client of it, and
// the home directory of a newsreader under test.
type newsreaderTest struct {
	srv        *testServer
	c          *nntp.Client
	gpg        *gpgtest.Key
	name       string
	home       string // outside t.TempDir: newsreaders want short paths
	editor     string // keeps the headers the newsreader wrote, replaces the body with armor
	host, port string
	env        string // the start of a command line: env with HOME, PATH, TERM and LANG only
}

// startNewsreaderTest starts a server on k's store with one article
// posted before the newsreader name, and prepares its home directory.
// The editor, called as EDITOR [+LINE] FILE, keeps the headers and puts
// in gpg armor of "posted with NAME".
func startNewsreaderTest(t *testing.T, k storeKind, name string) *newsreaderTest {
	t.Helper()
	r := &newsreaderTest{name: name, gpg: gpgtest.NewKey(t)}
	r.srv = startServer(t, k.open(t), func(c *node.Config) { c.ReleaseInterval = 0 })
	r.c = dial(t, r.srv.Addr)
	if err := r.c.Post(context.Background(), postArticle("first", r.gpg.EncryptText(t, "posted before "+name+"\n"))); err != nil {
		t.Fatal(err)
	}
	var err error
	r.home, err = os.MkdirTemp("", name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(r.home) })
	write(t, filepath.Join(r.home, "armor.asc"), string(r.gpg.EncryptText(t, "posted with "+name+"\n")))
	r.editor = filepath.Join(r.home, "editor.sh")
	write(t, r.editor, `#!/bin/sh
# Called as EDITOR [+LINE] FILE. Keep the newsreader's headers, replace the body.
for f; do file=$f; done
python3 - "$file" "`+filepath.Join(r.home, "armor.asc")+`" <<'PY'
import sys
path, armor = sys.argv[1], sys.argv[2]
head = open(path).read().partition("\n\n")[0]
open(path, "w").write(head + "\n\n" + open(armor).read())
PY
`)
	os.Chmod(r.editor, 0o700)
	r.host, r.port, _ = net.SplitHostPort(r.srv.Addr)
	r.env = fmt.Sprintf("env -i HOME=%s PATH=%s TERM=xterm LANG=C", r.home, os.Getenv("PATH"))
	return r
}

// checkPosted waits for the newsreader's post, the second article, and
// checks that it is the one its editor wrote, as injection leaves it.
func (r *newsreaderTest) checkPosted(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	waitCount(t, r.srv.Store, 2)
	g, err := r.c.Group(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	_, _, raw, err := r.c.Article(ctx, fmt.Sprint(g.High))
	if err != nil {
		t.Fatal(err)
	}
	checkInjected(t, r.gpg, raw, "posted with "+r.name+"\n")
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
