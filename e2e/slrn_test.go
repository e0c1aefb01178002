package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
)

// TestSlrn reads the group with slrn, driven through tmux: the article
// list must show each article's line count from the overview (slrn
// showed 0 when LIST OVERVIEW.FMT said ":lines"), and an article opens.
// Then slrn posts once, its editor replacing the body with gpg armor.
func TestSlrn(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		r := startNewsreaderTest(t, k, "slrn")
		ctx, c := context.Background(), r.c
		waitCount(t, r.srv.Store, 1)
		if _, err := c.Group(ctx, group); err != nil {
			t.Fatal(err)
		}
		var lines int64
		if err := c.Over(ctx, "1", func(o *nntp.Overview) error { lines = o.Lines; return nil }); err != nil || lines == 0 {
			t.Fatalf("OVER: %d lines, %v", lines, err)
		}

		write(t, filepath.Join(r.home, ".jnewsrc"), group+":\n")
		write(t, filepath.Join(r.home, ".slrnrc"), `set username "tester"
set hostname "example.test"
set realname "Tester"
set editor_command "`+r.editor+` %s"
set post_editor_command "`+r.editor+` %s"
set confirm_actions 0
`)
		slrnCmd := fmt.Sprintf("%s slrn --nntp -h %s -p %s -f %s/.jnewsrc", r.env, r.host, r.port, r.home)

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
		r.checkPosted(t)

		s.keys("q")
		s.keys("q")
		if screen := s.waitFor("PROGRAM-EXITED="); !strings.Contains(screen, "PROGRAM-EXITED=0") {
			t.Errorf("slrn exited badly:\n%s", screen)
		}
	})
}
