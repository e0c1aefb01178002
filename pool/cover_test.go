package pool

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/outbox"
	"github.com/altcrypt/altcrypt/pool/trial"
)

type chacha struct{ r *rand.ChaCha8 }

func (c chacha) Read(p []byte) (int, error) { return c.r.Read(p) }

// outside describes an article as anyone without a recipient key sees it:
// the header names, the Subject's form, the body's length, and each
// packet's tag, length encoding, length and cleartext fields (PKESK
// version, key ID and algorithm; SEIPD version).
func outside(t *testing.T, art []byte) string {
	t.Helper()
	head, body, ok := bytes.Cut(art, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no header end in %q", art)
	}
	var b strings.Builder
	for _, l := range strings.Split(string(head), "\r\n") {
		name, val, _ := strings.Cut(l, ": ")
		fmt.Fprintf(&b, "%s;", name)
		if name == "Subject" {
			fmt.Fprintf(&b, "subject %d shaped %v;", len(val), hsub.Shaped(val))
		}
	}
	fmt.Fprintf(&b, "body %d;", len(body))
	msg, err := trial.Dearmor(body)
	if err != nil {
		t.Fatal(err)
	}
	for len(msg) > 0 {
		if msg[0]&0xc0 != 0xc0 {
			t.Fatalf("legacy packet header %#x", msg[0])
		}
		tag := msg[0] & 0x3f
		var n, hdr int
		switch l := int(msg[1]); {
		case l < 192:
			n, hdr = l, 2
		case l < 224:
			n, hdr = (l-192)<<8+int(msg[2])+192, 3
		case l == 255:
			n, hdr = int(msg[2])<<24|int(msg[3])<<16|int(msg[4])<<8|int(msg[5]), 6
		default:
			t.Fatalf("partial length")
		}
		p := msg[hdr : hdr+n]
		fmt.Fprintf(&b, "packet %d hdr %d len %d", tag, hdr, n)
		switch tag {
		case 1: // PKESK: version, then (v3) key ID and algorithm
			k := min(len(p), 10)
			fmt.Fprintf(&b, " pkesk %x", p[:k])
		case 18: // SEIPD: version
			fmt.Fprintf(&b, " seipd v%d", p[0])
		}
		b.WriteString(";")
		msg = msg[hdr+n:]
	}
	return b.String()
}

// TestDummiesLookLikeRealPosts queues real messages of several sizes to a
// v4 and a v6 key, then makes twice as many dummies from the shapes
// counted, and compares what an outsider sees of each: the same kinds of
// article in the same proportions (a two-sample chi-square test, seeded,
// so its result is fixed).
func TestDummiesLookLikeRealPosts(t *testing.T) {
	alice := newClient(t)
	for _, ct := range []struct {
		name string
		v6   bool
		hsub []byte
	}{{"bob", false, []byte("bob's hsub")}, {"carol", true, nil}} {
		h, _ := home.Open(t.TempDir())
		e, err := h.Keygen(home.KeyOptions{V6: ct.v6})
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := home.ArmoredPublic(e)
		if _, err := alice.Home.ImportContact(ct.name, bytes.NewReader(pub)); err != nil {
			t.Fatal(err)
		}
		if ct.hsub != nil {
			alice.Home.SetHsub(ct.name, ct.hsub)
		}
	}
	if _, err := alice.Home.Keygen(home.KeyOptions{}); err != nil { // to sign with
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	const nReal, nDummy = 100, 200
	for i := 0; i < nReal; i++ {
		to := []string{"bob", "carol"}[rnd.IntN(2)]
		var size int
		switch x := rnd.Float64(); {
		case x < 0.6:
			size = rnd.IntN(900)
		case x < 0.9:
			size = 1200 + rnd.IntN(2500)
		default:
			size = 5000 + rnd.IntN(10000)
		}
		if _, err := alice.Queue(to, bytes.Repeat([]byte("x"), size), ComposeOptions{Sign: i%3 == 0}, "news.example:119", 0); err != nil {
			t.Fatal(err)
		}
	}
	ob, _ := alice.Outbox()
	ms, _ := ob.List()
	real := map[string]int{}
	for _, m := range ms {
		real[outside(t, m.Article)]++
	}
	shapes, _ := ob.Shapes()
	seed := chacha{rand.NewChaCha8([32]byte{1})}
	dummy := map[string]int{}
	for i := 0; i < nDummy; i++ {
		s, _ := outbox.SampleShape(shapes, seed)
		art, err := alice.Dummy(s, seed)
		if err != nil {
			t.Fatal(err)
		}
		dummy[outside(t, art)]++
	}
	var kinds []string
	for k := range real {
		kinds = append(kinds, k)
	}
	for k := range dummy {
		if real[k] == 0 {
			t.Errorf("dummies have a kind no real post has:\n%s", k)
		}
	}
	sort.Strings(kinds)
	if len(kinds) < 6 {
		t.Fatalf("only %d kinds of real post; the test wants several sizes and keys", len(kinds))
	}
	for _, k := range kinds {
		t.Logf("real %3d dummy %3d  %.60s…", real[k], dummy[k], k)
	}
	// 0.1% critical values of chi-square for 1..12 degrees of freedom.
	crit := []float64{10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26, 32.91}
	chi, df := chiSquare(real, dummy)
	if df < 1 || df > len(crit) {
		t.Fatalf("%d degrees of freedom", df)
	}
	t.Logf("chi-square %.2f with %d degrees of freedom (0.1%% critical value %.2f)", chi, df, crit[df-1])
	if chi > crit[df-1] {
		t.Fatalf("dummies and real posts differ in distribution: chi-square %.2f > %.2f", chi, crit[df-1])
	}
	// The test can see a difference: dummies that were all of the default
	// shape would fail it.
	art, _ := alice.Dummy(DefaultShape, seed)
	naive := map[string]int{outside(t, art): nDummy}
	if chi, df := chiSquare(real, naive); chi <= crit[df-1] {
		t.Fatalf("dummies of one shape pass as real: chi-square %.2f", chi)
	}
}

// chiSquare is the two-sample chi-square statistic of two samples over
// their categories, and its degrees of freedom.
func chiSquare(a, b map[string]int) (float64, int) {
	na, nb := 0.0, 0.0
	kinds := map[string]bool{}
	for k, n := range a {
		na += float64(n)
		kinds[k] = true
	}
	for k, n := range b {
		nb += float64(n)
		kinds[k] = true
	}
	chi := 0.0
	for k := range kinds {
		x, y := float64(a[k]), float64(b[k])
		u := x*math.Sqrt(nb/na) - y*math.Sqrt(na/nb)
		chi += u * u / (x + y)
	}
	return chi, len(kinds) - 1
}

// TestRunPostsQueuedInsteadOfDummies: pool run with a cover rate posts the
// queued messages in cover slots and dummies in the others; the recipient
// finds exactly the real ones, and nothing else decrypts.
func TestRunPostsQueuedInsteadOfDummies(t *testing.T) {
	srv := startServer(t, nil)
	alice, bob := newClient(t), newClient(t)
	bobKey, err := bob.Home.Keygen(home.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bobPub, _ := home.ArmoredPublic(bobKey)
	alice.Home.ImportContact("bob", bytes.NewReader(bobPub))
	for i := 0; i < 3; i++ {
		if _, err := alice.Queue("bob", []byte(fmt.Sprintf("real %d", i)), ComposeOptions{}, srv.addr, 0); err != nil {
			t.Fatal(err)
		}
	}
	ob, _ := alice.Outbox()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		st  RunStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := alice.Run(ctx, RunOptions{Server: srv.addr, CoverRate: 86400 * 50, Poll: 10 * time.Millisecond})
		done <- result{st, err}
	}()
	count := func() int64 {
		cl := dialNews(t, srv.addr)
		defer cl.Close()
		g, err := cl.Group(context.Background(), DefaultGroup)
		if err != nil {
			return 0
		}
		return g.Count
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		ms, _ := ob.List()
		if len(ms) == 0 && count() >= 8 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.st.Real != 3 || res.st.Dummy < 5 {
		t.Fatalf("run: %+v", res.st)
	}
	if n := count(); n != int64(res.st.Real+res.st.Dummy) {
		t.Fatalf("%d articles in the group, run posted %+v", n, res.st)
	}
	if _, err := bob.Sync(context.Background(), srv.addr, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	var found []string
	if _, err := bob.Read(context.Background(), ReadOptions{}, func(f *Found) error {
		found = append(found, string(f.Plaintext))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(found)
	if strings.Join(found, ",") != "real 0,real 1,real 2" {
		t.Fatalf("bob found %q", found)
	}
	// A second run cannot start while one holds the outbox... and can
	// once it has stopped.
	unlock, err := ob.Lock()
	if err != nil {
		t.Fatalf("the outbox stayed locked after run stopped: %v", err)
	}
	defer unlock()
	if _, err := alice.Run(context.Background(), RunOptions{Server: srv.addr}); err != outbox.ErrBusy {
		t.Fatalf("second run: %v", err)
	}
}
