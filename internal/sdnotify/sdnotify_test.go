package sdnotify

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/internal/sdnotify/sdnotifytest"
)

func TestNotify(t *testing.T) {
	for _, tc := range []struct {
		name, socket string
	}{
		{"path", filepath.Join(t.TempDir(), "notify")},
		{"abstract", "@altcrypt-sdnotify-test-" + strings.ReplaceAll(t.Name(), "/", "-")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			on := tc.socket
			if strings.HasPrefix(on, "@") {
				on = "\x00" + on[1:]
			}
			read := sdnotifytest.Listen(t, on)
			n := New(tc.socket)
			if err := n.Ready("serving 2 listeners"); err != nil {
				t.Fatal(err)
			}
			if got := read(); got != "READY=1\nSTATUS=serving 2 listeners\n" {
				t.Errorf("ready: %q", got)
			}
			if err := n.Stopping(); err != nil {
				t.Fatal(err)
			}
			if got := read(); got != "STOPPING=1\n" {
				t.Errorf("stopping: %q", got)
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	var nilN *Notifier
	for _, n := range []*Notifier{New(""), nilN} {
		if n.Enabled() {
			t.Error("enabled without a socket")
		}
		if err := n.Ready("x"); err != nil {
			t.Error(err)
		}
	}
}

func TestBadState(t *testing.T) {
	n := New(filepath.Join(t.TempDir(), "none"))
	if err := n.Notify("STATUS=a\nREADY=1"); err == nil {
		t.Error("a newline inside a state line was sent")
	}
	if err := n.Ready(""); err == nil {
		t.Error("no error for a missing socket")
	}
}
