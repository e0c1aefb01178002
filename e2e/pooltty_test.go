package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/buildtest"
)

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
