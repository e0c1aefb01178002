package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/outfeed"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

const (
	innName    = "inn.sandbox.test"
	streamName = "us-s.test" // our server that INN feeds by streaming
	ihaveName  = "us-i.test" // our server that INN feeds by IHAVE
	originName = "origin.example"
)

// node is one of our servers in the test.
type node struct {
	name  string
	store store.Store
	srv   *tt.Server
}

func startNode(t *testing.T, name string, open func(testing.TB) store.Store) *node {
	st := open(t)
	return &node{name: name, store: st, srv: tt.StartServer(t, st, transit.Config{PathName: name}, "")}
}

// makeArticles builds n articles injected at origin, with Path
// "origin.example!not-for-mail".
func makeArticles(t *testing.T, prefix, path string, n int) (ids []string, raws map[string][]byte) {
	raws = map[string][]byte{}
	bodies := tt.Bodies(t)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("<%s.%d.%d@%s>", prefix, i, time.Now().UnixNano(), originName)
		ids = append(ids, id)
		raws[id] = tt.Article(id, path, time.Now(), bodies[i%len(bodies)])
	}
	return ids, raws
}

// waitCount waits until st's group holds n articles.
func waitCount(t *testing.T, what string, st store.Store, n int64, timeout time.Duration, inn *INN) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		g, err := st.Group(context.Background(), tt.Group)
		if err == nil && g.Count >= n {
			if g.Count > n {
				t.Errorf("%s holds %d articles, want %d", what, g.Count, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d of %d articles after %s (%v)\ninnfeed.status:\n%s", what, g.Count, n, timeout, err, inn.Log("innfeed.status"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relayed is raw as it looks after passing through the Path names hops
// (most recent first).
func relayed(raw []byte, hops ...string) []byte {
	if len(hops) == 0 {
		return raw
	}
	i := bytes.Index(raw, []byte("Path: ")) + len("Path: ")
	prefix := strings.Join(hops, "!") + "!"
	return append(append(append([]byte{}, raw[:i]...), prefix...), raw[i:]...)
}

// sameArticle compares an article that went through INN with what we
// expect, allowing the Xref field INN adds to its stored copy.
func sameArticle(got, want []byte) bool {
	return bytes.Equal(stripXref(got), want)
}

func stripXref(b []byte) []byte {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return b
	}
	var out []byte
	for _, line := range bytes.SplitAfter(b[:end+2], []byte("\r\n")) {
		if len(line) >= 5 && bytes.EqualFold(line[:5], []byte("xref:")) {
			continue
		}
		out = append(out, line...)
	}
	return append(out, b[end+2:]...)
}

func checkNode(t *testing.T, n *node, ids []string, raws map[string][]byte, hops ...string) {
	t.Helper()
	for _, id := range ids {
		a, err := n.store.ArticleByID(context.Background(), id)
		if err != nil {
			t.Fatalf("%s: %s: %v", n.name, id, err)
		}
		want := relayed(raws[id], hops...)
		if got := tt.Joined(a); !sameArticle(got, want) {
			t.Fatalf("%s: %s arrived as\n%q\nwant\n%q", n.name, id, got, want)
		}
		if r := n.srv.Counts.Receipts(id); r != 1 {
			t.Errorf("%s: %s transferred %d times", n.name, id, r)
		}
	}
}

// innArticles reads ids from INN as a reader and compares them.
func innArticles(t *testing.T, inn *INN, ids []string, raws map[string][]byte, hops ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := nntp.Dial(ctx, inn.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit(ctx)
	if _, err := c.ModeReader(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			_, _, got, err := c.Article(ctx, id)
			if err == nil {
				if want := relayed(raws[id], hops...); !sameArticle(got, want) {
					t.Fatalf("INN holds %s as\n%q\nwant\n%q", id, got, want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("INN has no %s: %v\n%s", id, err, inn.Log("news"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// feedINN sends articles to INN as an origin server would, by streaming.
func feedINN(t *testing.T, inn *INN, ids []string, raws map[string][]byte) {
	ctx := context.Background()
	c, err := nntp.Dial(ctx, inn.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit(ctx)
	if err := c.ModeStream(ctx); err != nil {
		t.Fatal(err)
	}
	var cmds []nntp.StreamCommand
	for _, id := range ids {
		cmds = append(cmds, nntp.StreamCommand{MessageID: id, TakeThis: true, Article: raws[id]})
	}
	res, err := c.Stream(ctx, cmds)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Code != 239 {
			t.Fatalf("INN answered %d %s to %s", r.Code, r.Msg, ids[i])
		}
	}
}

func runManager(t *testing.T, st store.Store, ourName, peersText string) (*outfeed.Manager, func()) {
	pf, err := peers.Parse(strings.NewReader(peersText))
	if err != nil {
		t.Fatal(err)
	}
	m, err := outfeed.New(outfeed.Config{Store: st, Peers: pf.Peers, PathName: ourName, Logger: tt.Quiet(),
		PollInterval: 100 * time.Millisecond, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	return m, func() { cancel(); <-done }
}

// queueLocal stores articles as posted locally on n, queued for peer.
func queueLocal(t *testing.T, n *node, peer string, ids []string, raws map[string][]byte) {
	var arts []*store.NewArticle
	for _, id := range ids {
		var ps []string
		if peer != "" {
			ps = append(ps, peer)
		}
		arts = append(arts, tt.NewArticle(t, raws[id], ps...))
	}
	if _, err := n.store.Insert(context.Background(), arts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestINN(t *testing.T) {
	start := time.Now()
	s := startNode(t, streamName, tt.OpenSQLite)
	i := startNode(t, ihaveName, tt.OpenSQLite)
	t.Logf("our servers up after %s", time.Since(start).Round(time.Millisecond))
	inn := StartINN(t, innName,
		INNFeed{Name: "uss", Addr: s.srv.Addr, PathName: streamName},
		INNFeed{Name: "usi", Addr: i.srv.Addr, PathName: ihaveName, IHave: true})
	t.Logf("INN up at %s after %s", inn.Addr, time.Since(start).Round(time.Millisecond))

	// 1. INN feeds us: an origin server sends to INN, innfeed relays to
	// s by CHECK/TAKETHIS and to i by IHAVE.
	const n1 = 200
	ids1, raws := makeArticles(t, "from-inn", originName+"!not-for-mail", n1)
	feedINN(t, inn, ids1, raws)
	waitCount(t, "s (streaming)", s.store, n1, 60*time.Second, inn)
	waitCount(t, "i (IHAVE)", i.store, n1, 60*time.Second, inn)
	checkNode(t, s, ids1, raws, innName)
	checkNode(t, i, ids1, raws, innName)
	t.Logf("INN fed %d articles to both of us after %s", n1, time.Since(start).Round(time.Millisecond))

	// 2. We feed INN: s streams its local articles to INN, which relays
	// them to i and never back to s.
	const n2 = 100
	ids2, raws2 := makeArticles(t, "from-s", streamName+"!not-for-mail", n2)
	queueLocal(t, s, "inn", ids2, raws2)
	ms, stopS := runManager(t, s.store, streamName, fmt.Sprintf("peer inn {\n send-to: %s\n path: %s\n connections: 2\n}\n", inn.Addr, innName))
	innArticles(t, inn, ids2, raws2, innName)
	waitCount(t, "i (IHAVE)", i.store, n1+n2, 60*time.Second, inn)
	// s holds its own local articles too.
	checkNode(t, i, ids2, raws2, innName)
	stopS()
	if st := ms.Stats("inn"); st.Sent != n2 || !st.Streaming {
		t.Errorf("s -> INN: %+v", st)
	}

	// 3. i feeds INN by IHAVE; INN relays to s and not back to i.
	const n3 = 50
	ids3, raws3 := makeArticles(t, "from-i", ihaveName+"!not-for-mail", n3)
	queueLocal(t, i, "inn", ids3, raws3)
	mi, stopI := runManager(t, i.store, ihaveName, fmt.Sprintf("peer inn {\n send-to: %s\n path: %s\n streaming: no\n}\n", inn.Addr, innName))
	innArticles(t, inn, ids3, raws3, innName)
	waitCount(t, "s (streaming)", s.store, n1+n2+n3, 60*time.Second, inn)
	checkNode(t, s, ids3, raws3, innName)
	stopI()
	if st := mi.Stats("inn"); st.Sent != n3 || st.Streaming {
		t.Errorf("i -> INN: %+v", st)
	}

	// Nothing comes back in a loop: INN never offers a server its own
	// articles, and nothing arrives twice.
	time.Sleep(time.Second)
	for _, id := range ids2 {
		if o, r := s.srv.Counts.Offers(id), s.srv.Counts.Receipts(id); o+r != 0 {
			t.Errorf("s was offered its own %s back (%d offers, %d transfers)", id, o, r)
		}
	}
	for _, id := range ids3 {
		if o, r := i.srv.Counts.Offers(id), i.srv.Counts.Receipts(id); o+r != 0 {
			t.Errorf("i was offered its own %s back (%d offers, %d transfers)", id, o, r)
		}
	}
	for _, nd := range []*node{s, i} {
		if rs := nd.srv.Receiver.Stats(); rs.Duplicates != 0 || rs.Rejected != 0 {
			t.Errorf("%s receiver: %+v", nd.name, rs)
		}
	}
	for _, nd := range []*node{s, i} {
		if g, _ := nd.store.Group(context.Background(), tt.Group); g.Count != n1+n2+n3 {
			t.Errorf("%s holds %d articles, want %d", nd.name, g.Count, n1+n2+n3)
		}
	}

	// 4. pullnews (INN's) pulls the group from s as a reader and feeds it
	// by IHAVE to a fresh server of ours.
	r := startNode(t, "us-r.test", tt.OpenSQLite)
	pullnews(t, s.srv.Addr, r.srv.Addr)
	waitCount(t, "r (pullnews)", r.store, n1+n2+n3, 10*time.Second, inn)
	all := append(append(append([]string{}, ids1...), ids2...), ids3...)
	for _, id := range all {
		a, err := s.store.ArticleByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.store.ArticleByID(context.Background(), id)
		if err != nil {
			t.Fatalf("pullnews did not bring %s: %v", id, err)
		}
		if !bytes.Equal(tt.Joined(a), tt.Joined(b)) {
			t.Fatalf("pullnews changed %s:\n%q\n%q", id, tt.Joined(a), tt.Joined(b))
		}
	}
	t.Logf("whole INN test: %s", time.Since(start).Round(time.Millisecond))
}

// pullnews runs INN's pullnews from the reader server at from to the
// feeding port of to.
func pullnews(t *testing.T, from, to string) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "pullnews.marks")
	if err := os.WriteFile(conf, []byte(from+"\n\t"+tt.Group+" 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/lib/news/bin/pullnews", "-c", conf, "-s", to, "-t", "1")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pullnews: %v\n%s", err, out)
	}
	t.Logf("pullnews:\n%s", lastLines(string(out), 8))
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
