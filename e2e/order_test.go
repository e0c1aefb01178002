package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/internal/testlog"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/seal"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/postgres"
	"github.com/altcrypt/altcrypt/store/sqlite"
)

// orderPosts is how many posts go into the one release interval.
const orderPosts = 1100

// maxRho is the largest rank correlation taken as chance: with 1,100
// pairs, independent orders give a Spearman rho with a standard deviation
// of 1/sqrt(1099) = 0.030, so 0.15 is five deviations.
const maxRho = 0.15

// spearman returns the rank correlation of x and y (average ranks for
// ties).
func spearman(x, y []float64) float64 {
	rx, ry := ranks(x), ranks(y)
	n := float64(len(x))
	var mx, my float64
	for i := range rx {
		mx += rx[i]
		my += ry[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0 // a constant says nothing of order
	}
	return sxy / math.Sqrt(sxx*syy)
}

func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

// orderRun is one run of posts and the adversary's view of it.
type orderRun struct {
	st     store.Store
	be     *inject.Injector
	addr   string
	logs   *testlog.Buffer
	bodies [][]byte // canonical bodies, in posting order
	first  time.Time
	last   time.Time
	posted string // the log as it was when the last post was answered
	ids    []string
	nums   []float64 // article number of post i
}

// postInOneInterval serves st with a release interval longer than the
// test, posts orderPosts pool-made articles on 4 connections, records
// the order of the 240 answers, then releases once.
func postInOneInterval(t *testing.T, st store.Store) *orderRun {
	t.Helper()
	logs := new(testlog.Buffer)
	// The default level: what an operator keeps.
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := testConfig(log)
	cfg.ReleaseInterval = time.Hour
	cfg.AllowInsecureAuth = false
	srv := serveNode(t, st, cfg, false)
	r := &orderRun{st: st, be: srv.Backend, addr: srv.Addr, logs: logs}

	to, err := openpgp.NewEntity("reader", "", "", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([][]byte, orderPosts)
	for i := range raw {
		msg, err := seal.Seal(to, []byte(fmt.Sprintf("message %d of the interval\n", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if raw[i], err = seal.Armor(msg); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var order []int // post indexes in the order of their 240s
	var next int
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	ctx := context.Background()
	r.first = time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := nntp.Dial(ctx, r.addr, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= orderPosts {
					return
				}
				if err := c.Post(ctx, postArticle("x", raw[i])); err != nil {
					errs <- fmt.Errorf("post %d: %w", i, err)
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.last = time.Now()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r.posted = logs.String()
	// bodies[k] is the canonical body of the k-th post answered.
	r.bodies = make([][]byte, orderPosts)
	for k, i := range order {
		c, err := armor.Canonicalize(gpgCRLF(raw[i]), armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true})
		if err != nil {
			t.Fatal(err)
		}
		r.bodies[k] = c.Body
	}
	if n, err := r.be.Release(ctx); err != nil || n != orderPosts {
		t.Fatalf("release: %d, %v", n, err)
	}
	r.readGroup(t)
	return r
}

func gpgCRLF(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// readGroup reads every article as a reader would and maps each post to
// its number and message-id by its body.
func (r *orderRun) readGroup(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c, err := nntp.Dial(ctx, r.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g, err := c.Group(ctx, group)
	if err != nil || g.Count != orderPosts {
		t.Fatalf("group: %+v, %v", g, err)
	}
	byBody := map[string]int{}
	for k, b := range r.bodies {
		byBody[string(b)] = k
	}
	r.ids = make([]string, orderPosts)
	r.nums = make([]float64, orderPosts)
	dates := map[string]bool{}
	for n := g.Low; n <= g.High; n++ {
		_, id, art, err := c.Article(ctx, fmt.Sprint(n))
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(art, []byte("\r\n\r\n"))
		k, ok := byBody[string(art[i+4:])]
		if !ok {
			t.Fatalf("article %d matches no post", n)
		}
		r.ids[k], r.nums[k] = id, float64(n)
		for _, l := range strings.Split(string(art[:i]), "\r\n") {
			if strings.HasPrefix(l, "Date: ") {
				dates[l] = true
			}
		}
	}
	if len(dates) != 1 {
		t.Errorf("%d distinct Dates in one release", len(dates))
	}
}

func postingOrder() []float64 {
	x := make([]float64, orderPosts)
	for i := range x {
		x[i] = float64(i)
	}
	return x
}

// checkGroupAndLogs: the article numbers and the default-level log.
func (r *orderRun) checkGroupAndLogs(t *testing.T) {
	t.Helper()
	rho := spearman(postingOrder(), r.nums)
	t.Logf("group: rank correlation of posting order and article number: %+.4f", rho)
	if math.Abs(rho) > maxRho {
		t.Errorf("article numbers follow posting order (rho %.3f)", rho)
	}
	// Nothing was logged per connection or per post while posting: a log
	// line during the interval would carry a time to match.
	if strings.TrimSpace(r.posted) != "" {
		t.Errorf("the default-level log has lines from the posting phase:\n%s", r.posted)
	}
	t.Logf("default-level log, whole run (%d lines):\n%s", strings.Count(r.logs.String(), "\n"), r.logs.String())
}

// keyedReplay is the replay key the server computes (backend.keyed): an
// adversary holding the database has the secret too.
func keyedReplay(secret, body []byte) []byte {
	c, _ := armor.Canonicalize(body, armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true})
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("replay"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(c.Ciphertext)))
	m.Write(n[:])
	m.Write(c.Ciphertext)
	return m.Sum(nil)
}

// TestPostingOrderSQLite: 1,100 posts in one interval on SQLite; from the
// raw bytes of the database, its WAL and shared memory (freed pages
// included), the default-level log and the group, no feature orders the
// posts better than chance.
func TestPostingOrderSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "news.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := postInOneInterval(t, st)
	r.checkGroupAndLogs(t)
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	var secret []byte
	if err := db.QueryRow(`SELECT value FROM secrets`).Scan(&secret); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r.scanFiles(t, path, secret, "after release")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	r.scanFiles(t, path, secret, "after shutdown")
}

// scanFiles reads the database's files as raw bytes and looks for what
// could order the posts: where and how often each post's message-id,
// body and replay hash appear, and any time within the posting phase.
func (r *orderRun) scanFiles(t *testing.T, path string, secret []byte, when string) {
	t.Helper()
	var raw []byte
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		t.Logf("%s: %s is %d bytes", when, filepath.Base(f), len(b))
		raw = append(raw, b...)
	}
	type feature struct {
		name string
		key  func(k int) []byte
	}
	features := []feature{
		{"message-id", func(k int) []byte { return []byte(r.ids[k]) }},
		{"body", func(k int) []byte {
			// 48 base64 characters from the middle of the body, which
			// anyone can read in the group.
			b := r.bodies[k]
			return b[len(b)/2 : len(b)/2+48]
		}},
		{"replay hash", func(k int) []byte { return keyedReplay(secret, r.bodies[k]) }},
	}
	for _, f := range features {
		first, last, count := make([]float64, orderPosts), make([]float64, orderPosts), make([]float64, orderPosts)
		for k := range orderPosts {
			key := f.key(k)
			first[k], last[k] = -1, -1
			for off := 0; ; {
				i := bytes.Index(raw[off:], key)
				if i < 0 {
					break
				}
				if first[k] < 0 {
					first[k] = float64(off + i)
				}
				last[k] = float64(off + i)
				count[k]++
				off += i + 1
			}
		}
		x := postingOrder()
		for _, m := range []struct {
			what string
			v    []float64
		}{{"first offset", first}, {"last offset", last}, {"occurrences", count}} {
			rho := spearman(x, m.v)
			t.Logf("%s: %s %s: rank correlation with posting order %+.4f", when, f.name, m.what, rho)
			if math.Abs(rho) > maxRho {
				t.Errorf("%s: the %s's %s follows posting order (rho %.3f)", when, f.name, m.what, rho)
			}
		}
	}
	// Any microsecond time of the posting phase (from the first post to
	// the last answer; the release came after), as SQLite stores an
	// integer (8 octets, big-endian).
	lo, hi := uint64(r.first.UnixMicro()), uint64(r.last.UnixMicro())
	found := 0
	for i := 0; i+8 <= len(raw); i++ {
		if v := binary.BigEndian.Uint64(raw[i:]); v >= lo && v <= hi {
			found++
		}
	}
	t.Logf("%s: %d microsecond times of the posting phase in the files", when, found)
	if found != 0 {
		t.Errorf("%s: %d times of the posting phase survive in the files", when, found)
	}
}

// TestPostingOrderPostgres: the same posts on PostgreSQL; the group, the
// log, and what SQL shows of the replay table (live rows in physical
// order) after the release and after the expiry run that rewrites it.
func TestPostingOrderPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := postInOneInterval(t, st)
	r.checkGroupAndLogs(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var secret []byte
	if err := db.QueryRow(`SELECT value FROM secrets`).Scan(&secret); err != nil {
		t.Fatal(err)
	}
	var pending int
	db.QueryRow(`SELECT count(*) FROM pending`).Scan(&pending)
	if pending != 0 {
		t.Errorf("%d pending rows after release", pending)
	}
	heapOrder := func() float64 {
		rows, err := db.Query(`SELECT body_hash FROM replay ORDER BY ctid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		pos := map[string]int{}
		for n := 0; rows.Next(); n++ {
			var h []byte
			rows.Scan(&h)
			pos[string(h)] = n
		}
		v := make([]float64, orderPosts)
		for k := range orderPosts {
			v[k] = float64(pos[string(keyedReplay(secret, r.bodies[k]))])
		}
		return spearman(postingOrder(), v)
	}
	before := heapOrder()
	t.Logf("replay rows in heap order, before the expiry run: rank correlation with posting order %+.4f", before)
	if math.Abs(before) > maxRho {
		t.Errorf("replay rows in posting order after release (rho %.3f)", before)
	}
	if err := r.be.Expire(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := heapOrder()
	t.Logf("replay rows in heap order, after the expiry run: rank correlation with posting order %+.4f", after)
	if math.Abs(after) > maxRho {
		t.Errorf("replay rows still in posting order after expiry (rho %.3f)", after)
	}
}
