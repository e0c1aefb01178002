package pool

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/interop"
)

// TestINN: pool works against real INN (Debian's inn2, sandboxed by
// scripts/inn-sandbox), a mode-switching server: MODE READER, POST, OVER,
// BODY.
func TestINN(t *testing.T) {
	inn := interop.StartINN(t, "inn.pool.test")
	alice, bob, pub := aliceAndBob(t)
	alice.Home.SetHsub("bob", []byte("inn secret"))
	bob.Home.SetHsub("alice", []byte("inn secret"))
	sendTo(t, alice, "bob", inn.Addr, "through INN")
	g := gpgtest.New(t)
	g.Must(t, pub, "--import")
	ct := g.Must(t, []byte("gpg through INN"), "--trust-model", "always", "--armor", "-e", "-R", "pool")
	// A gpg message posted as a newsreader would (INN keeps the headers).
	if err := alice.Post(context.Background(), inn.Addr, gpgArticle("0123456789abcdef0123456789abcdef0123456789abcdef", ct.Stdout)); err != nil {
		t.Fatal(err)
	}
	st, err := bob.Sync(context.Background(), inn.Addr, SyncOptions{})
	if err != nil {
		t.Fatalf("sync from INN: %v", err)
	}
	if st.Fetched != 2 {
		t.Fatalf("sync from INN: %+v", st)
	}
	found, _ := readAll(t, bob, ReadOptions{})
	got := map[string]bool{}
	for _, f := range found {
		got[string(f.Plaintext)] = true
	}
	if len(found) != 2 || !got["through INN"] || !got["gpg through INN"] {
		t.Fatalf("found %v", got)
	}
}
