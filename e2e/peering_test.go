package e2e

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
)

// TestPeering runs two nntpd processes: a post injected on A is released,
// queued for B and fed to it (CHECK/TAKETHIS), and B stores it byte for
// byte.
func TestPeering(t *testing.T) {
	bin := nntpdBinary(t)
	forEachStore(t, func(t *testing.T, k storeKind) {
		gpg := gpgtest.NewKey(t)
		dir := t.TempDir()
		peersB := filepath.Join(dir, "peers-b")
		write(t, peersB, "peer a {\n    accept-from: 127.0.0.1\n    path: a.example\n}\n")
		b := startNntpd(t, bin, "--db", k.dsn(t), "--name", "b.example", "--peers", peersB)

		peersA := filepath.Join(dir, "peers-a")
		write(t, peersA, fmt.Sprintf("peer b {\n    send-to: %s\n    path: b.example\n    groups: alt.crypt.*\n    streaming: yes\n    connections: 1\n}\n", b.Addr))
		a := startNntpd(t, bin, "--db", k.dsn(t), "--name", "a.example", "--peers", peersA, "--release-interval", "0")

		ctx := context.Background()
		ca := dial(t, a.Addr)
		if err := ca.Post(ctx, postArticle("x", gpg.EncryptText(t, "peered\n"))); err != nil {
			t.Fatal(err)
		}
		ga, err := ca.Group(ctx, group)
		if err != nil || ga.Count != 1 {
			t.Fatalf("A: %+v %v", ga, err)
		}
		_, id, onA, err := ca.Article(ctx, "1")
		if err != nil {
			t.Fatal(err)
		}

		cb := dial(t, b.Addr)
		deadline := time.Now().Add(30 * time.Second)
		for {
			g, err := cb.Group(ctx, group)
			if err != nil {
				t.Fatal(err)
			}
			if g.Count == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("B never received the article\nA:\n%s\nB:\n%s", a.Log(), b.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
		_, idB, onB, err := cb.Article(ctx, id)
		if err != nil || idB != id {
			t.Fatalf("ARTICLE %s on B: %v", id, err)
		}
		if !bytes.Equal(onA, onB) {
			t.Errorf("B's copy differs:\n%s\nA's:\n%s", onB, onA)
		}
		checkInjectedOn(t, gpg, onB, "a.example", "peered\n")
	})
}
