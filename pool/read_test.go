package pool

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/internal/testlog"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/seal"
	"github.com/altcrypt/altcrypt/pool/spool"
	"github.com/altcrypt/altcrypt/pool/trial"
)

func newClient(t testing.TB) *Client {
	t.Helper()
	c, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c.Progress = nil
	return c
}

// aliceAndBob makes two clients: bob with a new key, alice knowing its
// public key (returned too) as contact "bob".
func aliceAndBob(t testing.TB) (alice, bob *Client, bobPub []byte) {
	t.Helper()
	alice, bob = newClient(t), newClient(t)
	k, err := bob.Home.Keygen(home.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bobPub, err = home.ArmoredPublic(k); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Home.ImportContact("bob", bytes.NewReader(bobPub)); err != nil {
		t.Fatal(err)
	}
	return alice, bob, bobPub
}

func stranger(t testing.TB) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity("x", "", "", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fillSpool writes records straight into a local store, as sync would.
func fillSpool(t testing.TB, c *Client, server string, recs []spool.Record) {
	t.Helper()
	w, err := spool.OpenWriter(filepath.Join(c.Home.SpoolDir(), spool.DirName(server)), server, c.group())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	high := w.High()
	for i := range recs {
		if err := w.Append(&recs[i]); err != nil {
			t.Fatal(err)
		}
		high = max(high, recs[i].Number)
	}
	if err := w.Commit(high); err != nil {
		t.Fatal(err)
	}
}

func readAll(t testing.TB, c *Client, opt ReadOptions) ([]*Found, ReadStats) {
	t.Helper()
	var found []*Found
	st, err := c.Read(context.Background(), opt, func(f *Found) error {
		found = append(found, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, st
}

func TestReadFindsOurs(t *testing.T) {
	c := newClient(t)
	me, err := c.Home.Keygen(home.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A contact with an hsub secret, who sends us a tagged message.
	pub, _ := home.ArmoredPublic(stranger(t))
	if _, err := c.Home.ImportContact("alice", bytes.NewReader(pub)); err != nil {
		t.Fatal(err)
	}
	if err := c.Home.SetHsub("alice", []byte("shared secret")); err != nil {
		t.Fatal(err)
	}
	other := stranger(t)
	// gpg makes one for us with a hidden recipient.
	g := gpgtest.New(t)
	mePub, _ := home.ArmoredPublic(me)
	g.Must(t, mePub, "--import")
	gpgMsg, err := trial.Dearmor(g.Must(t, []byte("from gpg"), "--trust-model", "always", "--armor", "-e", "-R", "pool").Stdout)
	if err != nil {
		t.Fatal(err)
	}

	var recs []spool.Record
	want := map[int64]string{}
	for n := int64(1); n <= 300; n++ {
		r := spool.Record{Kind: spool.KindOpenPGP, Number: n, Date: 1764000000 + n, MessageID: fmt.Sprintf("<%d@x>", n)}
		r.Subject, _ = hsub.Random(nil)
		switch {
		case n == 7:
			r.Body, _ = seal.Seal(me, []byte("seven"), nil)
			want[n] = "seven"
		case n == 150:
			r.Body, _ = seal.Seal(me, []byte("tagged"), nil)
			r.Subject, _ = hsub.New([]byte("shared secret"), nil)
			want[n] = "tagged"
		case n == 151:
			r.Body = gpgMsg
			want[n] = "from gpg"
		case n == 200:
			r.Kind, r.Body = spool.KindRaw, []byte("not armor")
		default:
			r.Body, _ = seal.Seal(other, []byte("not for me"), nil)
		}
		recs = append(recs, r)
	}
	fillSpool(t, c, "127.0.0.1:119", recs)

	found, st := readAll(t, c, ReadOptions{Workers: 2})
	if st.Examined != 300 || st.Found != 3 || st.HsubMatch != 1 || st.Unreadable != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(found) != len(want) {
		t.Fatalf("found %d messages, want %d", len(found), len(want))
	}
	for _, f := range found {
		if want[f.Number] != string(f.Plaintext) {
			t.Errorf("article %d: %q, want %q", f.Number, f.Plaintext, want[f.Number])
		}
		if f.Server != "127.0.0.1:119" || f.Date.Unix() != 1764000000+f.Number || f.Hsub != (f.Number == 150) {
			t.Errorf("article %d: %+v", f.Number, f)
		}
	}
	// Examined articles are not examined again...
	if found, st := readAll(t, c, ReadOptions{}); len(found) != 0 || st.Examined != 0 {
		t.Fatalf("second read examined %d, found %d", st.Examined, len(found))
	}
	// ...new ones are...
	body, _ := seal.Seal(me, []byte("later"), nil)
	fillSpool(t, c, "127.0.0.1:119", []spool.Record{{Kind: spool.KindOpenPGP, Number: 301, Body: body}})
	if found, st := readAll(t, c, ReadOptions{}); len(found) != 1 || st.Examined != 1 || string(found[0].Plaintext) != "later" {
		t.Fatalf("third read examined %d, found %d", st.Examined, len(found))
	}
	// ...and --again goes over everything.
	if found, _ := readAll(t, c, ReadOptions{Again: true}); len(found) != 4 {
		t.Fatalf("read again found %d, want 4", len(found))
	}
	// The same article from another server is reported once.
	dup := recs[6]
	dup.Number = 99
	fillSpool(t, c, "mirror:119", []spool.Record{dup})
	if found, st := readAll(t, c, ReadOptions{}); len(found) != 0 || st.Duplicates != 1 {
		t.Fatalf("mirror: found %d, %d duplicates", len(found), st.Duplicates)
	}
}

func TestReadNeedsKeys(t *testing.T) {
	c := newClient(t)
	if _, err := c.Read(context.Background(), ReadOptions{}, func(*Found) error { return nil }); err == nil {
		t.Fatal("read without keys did not fail")
	}
}

func TestReadStopsAndResumes(t *testing.T) {
	c := newClient(t)
	me, _ := c.Home.Keygen(home.KeyOptions{})
	other := stranger(t)
	var recs []spool.Record
	for n := int64(1); n <= 40000; n++ {
		var body []byte
		if n%10000 == 0 {
			body, _ = seal.Seal(me, []byte(fmt.Sprint(n)), nil)
		} else {
			body = make([]byte, 400) // not even OpenPGP: fast to skip
			body[0] = 0xC1
			body[1] = 0x05
		}
		recs = append(recs, spool.Record{Kind: spool.KindOpenPGP, Number: n, Body: body})
	}
	_ = other
	fillSpool(t, c, "s", recs)
	// Stop after the first message found: the examined mark stays at the
	// end of the window that held it.
	ctx, cancel := context.WithCancel(context.Background())
	var first []*Found
	_, err := c.Read(ctx, ReadOptions{}, func(f *Found) error {
		first = append(first, f)
		cancel()
		return nil
	})
	if err == nil || len(first) == 0 {
		t.Fatalf("cancelled read: err %v, found %d", err, len(first))
	}
	rest, _ := readAll(t, c, ReadOptions{})
	if len(first)+len(rest) != 4 {
		t.Fatalf("found %d then %d, want 4 in all, each once", len(first), len(rest))
	}
}

type sprec struct {
	n       int64
	subject string
}

func toRecords(rs []sprec) []spool.Record {
	var out []spool.Record
	for _, r := range rs {
		out = append(out, spool.Record{Kind: spool.KindRaw, Number: r.n, Subject: r.subject, Body: []byte("x")})
	}
	return out
}

func TestProgress(t *testing.T) {
	c := newClient(t)
	c.Home.Keygen(home.KeyOptions{})
	other := stranger(t)
	var recs []spool.Record
	for n := int64(1); n <= 300; n++ {
		body, _ := seal.Seal(other, nil, nil)
		recs = append(recs, spool.Record{Kind: spool.KindOpenPGP, Number: n, Body: body})
	}
	fillSpool(t, c, "s", recs)
	var buf testlog.Buffer
	c.Progress, c.ProgressEvery = &buf, time.Millisecond
	readAll(t, c, ReadOptions{Workers: 1})
	if !strings.Contains(buf.String(), "articles examined") {
		t.Fatalf("no progress line: %q", buf.String())
	}
}
