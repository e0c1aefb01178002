package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/backend"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
)

// TestSlrn reads the group with slrn, driven through tmux: the article
// list must show each article's line count from the overview (slrn
// showed 0 when LIST OVERVIEW.FMT said ":lines"), and an article opens.
// Then slrn posts once, its editor replacing the body with gpg armor.
func TestSlrn(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		gpg := gpgtest.NewKey(t)
		srv := startServer(t, k.open(t), func(c *backend.Config) { c.ReleaseInterval = 0 })
		ctx := context.Background()
		c := dial(t, srv.Addr)
		if err := c.Post(ctx, postArticle("first", gpg.EncryptText(t, "posted before slrn\n"))); err != nil {
			t.Fatal(err)
		}
		waitCount(t, srv.Store, 1)
		if _, err := c.Group(ctx, group); err != nil {
			t.Fatal(err)
		}
		var lines int64
		if err := c.Over(ctx, "1", func(o *nntp.Overview) error { lines = o.Lines; return nil }); err != nil || lines == 0 {
			t.Fatalf("OVER: %d lines, %v", lines, err)
		}

		home, err := os.MkdirTemp("", "slrn")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(home) })
		write(t, filepath.Join(home, ".jnewsrc"), group+":\n")
		write(t, filepath.Join(home, "armor.asc"), string(gpg.EncryptText(t, "posted with slrn\n")))
		editor := filepath.Join(home, "editor.sh")
		write(t, editor, `#!/bin/sh
# slrn calls: EDITOR FILE. Keep slrn's headers, replace the body.
for f; do file=$f; done
python3 - "$file" "`+filepath.Join(home, "armor.asc")+`" <<'PY'
import sys
path, armor = sys.argv[1], sys.argv[2]
head = open(path).read().partition("\n\n")[0]
open(path, "w").write(head + "\n\n" + open(armor).read())
PY
`)
		os.Chmod(editor, 0o700)
		write(t, filepath.Join(home, ".slrnrc"), `set username "tester"
set hostname "example.test"
set realname "Tester"
set editor_command "`+editor+` %s"
set post_editor_command "`+editor+` %s"
set confirm_actions 0
`)
		host, port, _ := net.SplitHostPort(srv.Addr)
		env := fmt.Sprintf("env -i HOME=%s PATH=%s TERM=xterm LANG=C", home, os.Getenv("PATH"))
		slrnCmd := fmt.Sprintf("%s slrn --nntp -h %s -p %s -f %s/.jnewsrc", env, host, port, home)

		s := newTmux(t, "slrn")
		s.start(slrnCmd)
		s.waitFor(group)
		s.keys("Enter")
		screen := s.waitFor("[Anonymous")
		// The article line: "->  -        29:[Anonymous   ]    <subject>".
		m := regexp.MustCompile(`(\d+):\[Anonymous`).FindStringSubmatch(screen)
		if m == nil || m[1] != fmt.Sprint(lines) {
			t.Errorf("article list shows %q lines, the overview says %d:\n%s", m, lines, screen)
		}
		s.keys("Space")
		screen = s.waitFor("-----END PGP MESSAGE-----")
		if !strings.Contains(screen, "-----BEGIN PGP MESSAGE-----") {
			t.Errorf("article screen:\n%s", screen)
		}

		// Post: P, accept the group and give a subject, edit, post.
		s.keys("P")
		s.waitFor("Newsgroups")
		s.keys("Enter")
		s.waitFor("Subject")
		s.keys("Secret for Bob", "Enter")
		screen = s.waitFor("Post the message?")
		s.keys("y")
		waitCount(t, srv.Store, 2)
		g, err := c.Group(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		_, _, raw, err := c.Article(ctx, fmt.Sprint(g.High))
		if err != nil {
			t.Fatal(err)
		}
		checkInjected(t, gpg, raw, "posted with slrn\n")

		s.keys("q")
		s.keys("q")
		if screen := s.waitFor("PROGRAM-EXITED="); !strings.Contains(screen, "PROGRAM-EXITED=0") {
			t.Errorf("slrn exited badly:\n%s", screen)
		}
	})
}
