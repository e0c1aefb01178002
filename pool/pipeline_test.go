package pool

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/interop"
	"github.com/altcrypt/altcrypt/nntp"
)

// cutProxy forwards connections to addr and, on the first connection,
// cuts both directions after limit bytes from the server: a server that
// dies in the middle of a pipelined window.
func cutProxy(t *testing.T, addr string, limit int64) string {
	t.Helper()
	var first atomic.Bool
	first.Store(true)
	return nntptest.Proxy(t, addr, func(c, s net.Conn) {
		n := int64(1 << 62)
		if first.Swap(false) {
			n = limit
		}
		up := make(chan struct{})
		go func() { io.Copy(s, c); s.Close(); close(up) }()
		io.CopyN(c, s, n)
		c.Close()
		s.Close()
		<-up
	})
}

// TestSyncServerDiesMidWindow: the connection breaks in the middle of a
// window of bodies. Sync says the server closed the connection and keeps
// the articles it received whole; the next sync fetches only the rest.
func TestSyncServerDiesMidWindow(t *testing.T) {
	for _, conns := range []int{1, 3} {
		t.Run(fmt.Sprintf("conns=%d", conns), func(t *testing.T) { testSyncServerDiesMidWindow(t, conns) })
	}
}

func testSyncServerDiesMidWindow(t *testing.T, conns int) {
	srv := startServer(t, nil)
	const n = 40
	_, bob := postedToBob(t, srv.addr, n)
	cb := &countingBackend{count: map[int64]int{}, Backend: srv.backend}
	reader := serve(t, srv.backend, func(nntp.Backend) nntp.Backend { return cb })
	cb.numberArticles(t, srv.addr)
	// About 8 KiB: the greeting, GROUP, OVER and some four compressed
	// bodies, less than the first chunk of ten. On several connections
	// the first (cut) one lists and fetches that chunk, so it is cut
	// however the others share out the rest (which is not stored).
	proxy := cutProxy(t, reader.addr, 8<<10)
	opt := SyncOptions{Window: 16, Compress: true, Connections: conns, OverChunk: 10}
	st, err := bob.Sync(context.Background(), proxy, opt)
	if err == nil || !strings.Contains(err.Error(), "closed the connection") {
		t.Fatalf("sync through a dying server: %+v, %v", st, err)
	}
	t.Logf("%v after %d articles", err, st.Fetched)
	if st.Fetched == 0 || st.Fetched >= n {
		t.Fatalf("fetched %d before the cut, want some", st.Fetched)
	}
	first := st.Fetched
	st, err = bob.Sync(context.Background(), proxy, opt)
	if err != nil || st.Fetched != n-first || !st.Compressed {
		t.Fatalf("resumed sync: %+v, %v (first sync stored %d)", st, err, first)
	}
	found, _ := readAll(t, bob, ReadOptions{})
	if len(found) != n {
		t.Fatalf("found %d of %d", len(found), n)
	}
	// Only the article cut in the middle (and those behind it in the
	// window) were served twice.
	cb.mu.Lock()
	defer cb.mu.Unlock()
	twice := 0
	for i := int64(1); i <= n; i++ {
		if cb.count[i] > 1 {
			twice++
			if i <= first {
				t.Errorf("article %d, stored by the first sync, was served again", i)
			}
		}
	}
	if conns == 1 && twice > 16 {
		t.Errorf("%d articles served twice, more than the window", twice)
	}
}

// TestSyncCompressedFromINN: INN offers COMPRESS DEFLATE and ends each
// compressed answer with a partial flush; a compressed sync reads every
// answer as it ends (compress/flate would wait for the next one), on one
// connection and on two.
func TestSyncCompressedFromINN(t *testing.T) {
	inn := interop.StartINN(t, "inn.compress.test")
	const n = 12
	_, bob := postedToBob(t, inn.Addr, n)
	st, err := bob.Sync(context.Background(), inn.Addr, SyncOptions{Compress: true, Window: 3, OverChunk: 5, Connections: 2, Timeout: 20 * time.Second})
	if err != nil || st.Fetched != n || !st.Compressed {
		t.Fatalf("compressed sync from INN: %+v, %v", st, err)
	}
	found, _ := readAll(t, bob, ReadOptions{})
	if len(found) != n {
		t.Fatalf("found %d of %d", len(found), n)
	}
}

// TestSyncPipelinedFromINN: a pipelined sync with a window smaller than an
// OVER chunk, and chunks smaller than the group, from real INN.
func TestSyncPipelinedFromINN(t *testing.T) {
	inn := interop.StartINN(t, "inn.pipeline.test")
	const n = 30
	_, bob := postedToBob(t, inn.Addr, n)
	st, err := bob.Sync(context.Background(), inn.Addr, SyncOptions{Window: 4, OverChunk: 7})
	if err != nil || st.Fetched != n {
		t.Fatalf("sync from INN: %+v, %v", st, err)
	}
	found, _ := readAll(t, bob, ReadOptions{})
	seen := map[string]bool{}
	for _, f := range found {
		seen[string(f.Plaintext)] = true
	}
	if len(found) != n || len(seen) != n {
		t.Fatalf("found %d (%d distinct) of %d", len(found), len(seen), n)
	}
	// The same through the client alone: ARTICLE, HEAD, BODY, STAT
	// pipelined against lock-step answers.
	ctx := context.Background()
	cl := dialNews(t, inn.Addr)
	defer cl.Close()
	if _, err := cl.ModeReader(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := cl.Group(ctx, DefaultGroup)
	if err != nil {
		t.Fatal(err)
	}
	verbs := []string{"ARTICLE", "HEAD", "BODY", "STAT"}
	var reqs []nntp.Request
	for i := g.Low; i <= g.High+2; i++ {
		reqs = append(reqs, nntp.Request{Verb: verbs[i%4], Spec: fmt.Sprint(i)})
	}
	var got []*nntp.Response
	if err := cl.Fetch(ctx, reqs, &nntp.PipelineOptions{MaxCommands: 5}, func(r *nntp.Response) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		num, _, data, err := nntptest.LockStep(ctx, cl, r.Request)
		if fmt.Sprint(err) != fmt.Sprint(r.Err) || num != r.Number || !bytes.Equal(data, r.Data) {
			t.Fatalf("%s %s: pipelined %d %v, lock-step %d %v", r.Request.Verb, r.Request.Spec, r.Number, r.Err, num, err)
		}
	}
	if got[len(got)-1].Err == nil {
		t.Fatal("INN answered an article past the end")
	}
}
