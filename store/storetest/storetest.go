// Package storetest is the test suite every store.Store passes (sqlite and
// postgres), and the benchmarks they share. A store package's test calls
// Run with a function that opens a fresh, empty store for each subtest
// (usually with Open).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
)

// Run runs the whole suite; open must return a fresh, empty store and close
// it when t ends (Open does).
func Run(t *testing.T, open func(t testing.TB) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Groups", testGroups},
		{"InsertNumbering", testInsertNumbering},
		{"Crosspost", testCrosspost},
		{"Duplicates", testDuplicates},
		{"ByteExact", testByteExact},
		{"Ranges", testRanges},
		{"OverviewPaging", testOverviewPaging},
		{"ByID", testByID},
		{"NextPrev", testNextPrev},
		{"NewGroups", testNewGroups},
		{"NewNews", testNewNews},
		{"Pending", testPending},
		{"Replay", testReplay},
		{"Secret", testSecret},
		{"ReplayAfterRelease", testReplayAfterRelease},
		{"PendingBatch", testPendingBatch},
		{"PendingBatchFails", testPendingBatchFails},
		{"ConcurrentPendingBatches", testConcurrentPendingBatches},
		{"Stamps", testStamps},
		{"SeenRemember", testSeenRemember},
		{"Expire", testExpire},
		{"ExpireHistory", testExpireHistory},
		{"Queue", testQueue},
		{"QueueLease", testQueueLease},
		{"Exclusive", testExclusive},
		{"Changes", testChanges},
		{"BadInput", testBadInput},
		{"Concurrency", testConcurrency},
		{"ConcurrentCrossposts", testConcurrentCrossposts},
		{"ExpireWhileInserting", testExpireWhileInserting},
		{"RemoveGroup", testRemoveGroup},
		{"QueueStats", testQueueStats},
		{"PeerStates", testPeerStates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// Article makes a test article: a real-looking header (CRLF lines) and an
// armored-looking body of about bodySize bytes.
func Article(messageID string, bodySize int, groups ...string) *store.NewArticle {
	subject := "3f2a9c" + strings.Repeat("0", 42)
	hdr := fmt.Sprintf("Path: test!not-for-mail\r\nFrom: Nobody <nobody@invalid>\r\nNewsgroups: %s\r\n"+
		"Subject: %s\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: %s\r\n",
		strings.Join(groups, ","), subject, messageID)
	var body bytes.Buffer
	body.WriteString("-----BEGIN PGP MESSAGE-----\r\n\r\n")
	line := "hQIMA" + strings.Repeat("x", 59) + "\r\n"
	for body.Len() < bodySize-30 {
		body.WriteString(line)
	}
	body.WriteString("=abcd\r\n-----END PGP MESSAGE-----\r\n")
	return &store.NewArticle{
		MessageID: messageID,
		Groups:    groups,
		Header:    []byte(hdr),
		Body:      body.Bytes(),
		Subject:   subject,
		From:      "Nobody <nobody@invalid>",
		Date:      "Wed, 25 Nov 2026 10:00:00 +0000",
		Bytes:     int64(len(hdr) + 2 + body.Len()),
		Lines:     int64(bytes.Count(body.Bytes(), []byte("\n"))),
	}
}

// Ensure creates groups, failing t on an error.
func Ensure(t testing.TB, s store.Upkeep, groups ...string) {
	t.Helper()
	for _, g := range groups {
		if err := s.EnsureGroup(context.Background(), g, "test group "+g); err != nil {
			t.Fatalf("EnsureGroup(%s): %v", g, err)
		}
	}
}

func insert(t testing.TB, s store.Store, arts ...*store.NewArticle) []store.InsertResult {
	t.Helper()
	res, err := s.Insert(context.Background(), arts, nil)
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if len(res) != len(arts) {
		t.Fatalf("Insert returned %d results for %d articles", len(res), len(arts))
	}
	return res
}

func group(t testing.TB, s store.Store, name string) news.Group {
	t.Helper()
	g, err := s.Group(context.Background(), name)
	if err != nil {
		t.Fatalf("Group(%s): %v", name, err)
	}
	return g
}

func wantMarks(t testing.TB, s store.Store, name string, low, high, count int64) {
	t.Helper()
	g := group(t, s, name)
	if g.Low != low || g.High != high || g.Count != count {
		t.Fatalf("group %s: low/high/count = %d/%d/%d, want %d/%d/%d", name, g.Low, g.High, g.Count, low, high, count)
	}
}

func numbers(t testing.TB, s store.Store, g string, r news.Range) []int64 {
	t.Helper()
	n, err := s.Numbers(context.Background(), g, r)
	if err != nil {
		t.Fatalf("Numbers(%s, %v): %v", g, r, err)
	}
	return n
}

func overview(t testing.TB, s store.Store, g string, r news.Range) []*news.Overview {
	t.Helper()
	var out []*news.Overview
	err := s.Overview(context.Background(), g, r, func(o *news.Overview) error {
		out = append(out, o)
		return nil
	})
	if err != nil {
		t.Fatalf("Overview(%s, %v): %v", g, r, err)
	}
	return out
}

func seq(lo, hi int64) []int64 {
	var out []int64
	for n := lo; n <= hi; n++ {
		out = append(out, n)
	}
	return out
}

func mid(i int) string { return fmt.Sprintf("<%d.test@example.invalid>", i) }

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.Group(ctx, "alt.crypt.messages"); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Fatalf("Group on an empty store: %v, want ErrNoSuchGroup", err)
	}
	before := time.Now().Add(-time.Second)
	if err := s.EnsureGroup(ctx, "alt.crypt.messages", "first"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureGroup(ctx, "alt.anonymous.messages", "other"); err != nil {
		t.Fatal(err)
	}
	g := group(t, s, "alt.crypt.messages")
	if g.Low != 1 || g.High != 0 || g.Count != 0 || g.Status != "y" || g.Description != "first" {
		t.Fatalf("new group: %+v", g)
	}
	if g.Created.Before(before) || g.Created.After(time.Now().Add(time.Second)) {
		t.Fatalf("created %v, want about now", g.Created)
	}
	insert(t, s, Article(mid(1), 500, "alt.crypt.messages"), Article(mid(2), 500, "alt.crypt.messages"))
	if err := s.EnsureGroup(ctx, "alt.crypt.messages", "second"); err != nil {
		t.Fatal(err)
	}
	g2 := group(t, s, "alt.crypt.messages")
	if g2.Description != "second" || !g2.Created.Equal(g.Created) || g2.Low != 1 || g2.High != 2 || g2.Count != 2 {
		t.Fatalf("after EnsureGroup again: %+v (before %+v)", g2, g)
	}
	all, err := s.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range all {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"alt.anonymous.messages", "alt.crypt.messages"}) {
		t.Fatalf("Groups: %v", names)
	}
	if all[1].High != 2 || all[0].Count != 0 || all[0].Low != 1 {
		t.Fatalf("Groups marks: %+v", all)
	}
	for _, bad := range []string{"", "a b", "a,b", "a:b", "a\nb", "bad\xff", strings.Repeat("x", 300)} {
		if err := s.EnsureGroup(ctx, bad, ""); err == nil {
			t.Errorf("EnsureGroup(%q) accepted", bad)
		}
	}
}

func testInsertNumbering(t *testing.T, s store.Store) {
	Ensure(t, s, "g")
	var want []int64
	for i := 1; i <= 3; i++ {
		res := insert(t, s, Article(mid(i), 300, "g"))
		if res[0].Status != store.StatusStored || res[0].ArticleID == 0 || res[0].Numbers["g"] != int64(i) {
			t.Fatalf("insert %d: %+v", i, res[0])
		}
		want = append(want, int64(i))
	}
	res := insert(t, s, Article(mid(4), 300, "g"), Article(mid(5), 300, "g"), Article(mid(6), 300, "g"))
	ids := map[int64]bool{}
	for i, r := range res {
		if r.Status != store.StatusStored || r.Numbers["g"] != int64(4+i) || ids[r.ArticleID] {
			t.Fatalf("batch result %d: %+v", i, r)
		}
		ids[r.ArticleID] = true
		want = append(want, int64(4+i))
	}
	wantMarks(t, s, "g", 1, 6, 6)
	if got := numbers(t, s, "g", news.Range{Low: 1, High: -1}); !slices.Equal(got, want) {
		t.Fatalf("Numbers = %v, want %v", got, want)
	}
	for i, o := range overview(t, s, "g", news.Range{Low: 1, High: -1}) {
		if o.MessageID != mid(i+1) || o.Number != int64(i+1) {
			t.Fatalf("overview %d: %+v", i, o)
		}
	}
	// An article for groups we do not carry is kept (history, by id) but numbered nowhere.
	res = insert(t, s, Article(mid(7), 300, "not.carried"))
	if res[0].Status != store.StatusStored || len(res[0].Numbers) != 0 {
		t.Fatalf("uncarried: %+v", res[0])
	}
	wantMarks(t, s, "g", 1, 6, 6)
}

func testCrosspost(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "a", "b")
	insert(t, s, Article(mid(1), 300, "b"), Article(mid(2), 300, "b"))
	art := Article(mid(3), 800, "b", "unknown.group", "a", "b")
	res := insert(t, s, art)
	if got := res[0].Numbers; !maps.Equal(got, map[string]int64{"a": 1, "b": 3}) {
		t.Fatalf("numbers %v", got)
	}
	wantMarks(t, s, "a", 1, 1, 1)
	wantMarks(t, s, "b", 1, 3, 3)
	for _, gn := range []struct {
		g string
		n int64
	}{{"a", 1}, {"b", 3}} {
		ov := overview(t, s, gn.g, news.Range{Low: gn.n, High: gn.n})
		if len(ov) != 1 || ov[0].Xref != "b:3 a:1" || ov[0].MessageID != mid(3) {
			t.Fatalf("overview of %s:%d: %+v", gn.g, gn.n, ov)
		}
		a, err := s.Article(ctx, gn.g, gn.n)
		if err != nil || !bytes.Equal(a.Body, art.Body) || a.MessageID != mid(3) || a.Number != gn.n {
			t.Fatalf("Article(%s, %d): %v %+v", gn.g, gn.n, err, a)
		}
	}
	ov, err := s.OverviewByID(ctx, mid(3))
	if err != nil || ov.Xref != "b:3 a:1" || ov.Number != 0 {
		t.Fatalf("OverviewByID: %v %+v", err, ov)
	}
	// Stored once: one queue row per peer, one article in NEWNEWS per group.
	news, err := s.NewNews(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, e := range news {
		if e.MessageID == mid(3) {
			count++
		}
	}
	if count != 2 {
		t.Fatalf("NewNews lists the crosspost %d times, want 2 (one per group): %v", count, news)
	}
	art2 := Article(mid(4), 300, "a", "b")
	art2.Peers = []string{"peer1"}
	insert(t, s, art2)
	q, err := s.ClaimQueue(ctx, "peer1", 10, time.Minute)
	if err != nil || len(q) != 1 || q[0].MessageID != mid(4) {
		t.Fatalf("crosspost queued %d times (%v), want once", len(q), err)
	}
}

func testDuplicates(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	insert(t, s, Article(mid(1), 300, "g"))
	other := Article(mid(1), 900, "g")
	res := insert(t, s, other, Article(mid(2), 300, "g"), Article(mid(2), 300, "g"))
	want := []store.Status{store.StatusDuplicate, store.StatusStored, store.StatusDuplicate}
	for i, r := range res {
		if r.Status != want[i] {
			t.Fatalf("result %d: %+v, want status %v", i, r, want[i])
		}
	}
	if res[1].Numbers["g"] != 2 {
		t.Fatalf("numbers after duplicates: %+v", res[1])
	}
	wantMarks(t, s, "g", 1, 2, 2)
	a, err := s.ArticleByID(ctx, mid(1))
	if err != nil || len(a.Body) >= 900 {
		t.Fatalf("the duplicate replaced the original: %v", err)
	}
	if err := s.Remember(ctx, []string{mid(3)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	res = insert(t, s, Article(mid(3), 300, "g"))
	if res[0].Status != store.StatusDuplicate {
		t.Fatalf("a remembered (refused) id was stored: %+v", res[0])
	}
	wantMarks(t, s, "g", 1, 2, 2)
	// A batch of nothing but duplicates numbers nothing; the next new
	// article takes the next number.
	res = insert(t, s, Article(mid(1), 300, "g"), Article(mid(2), 300, "g"), Article(mid(3), 300, "g"))
	for i, r := range res {
		if r.Status != store.StatusDuplicate || len(r.Numbers) != 0 {
			t.Fatalf("all-duplicate batch, result %d: %+v", i, r)
		}
	}
	wantMarks(t, s, "g", 1, 2, 2)
	if res := insert(t, s, Article(mid(4), 300, "g")); res[0].Numbers["g"] != 3 {
		t.Fatalf("after an all-duplicate batch: %+v, want number 3", res[0])
	}
}

func testByteExact(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	header := []byte("Path: a!b!not-for-mail\r\nReceived: one\r\nReceived: two\r\nReceived: one\r\n" +
		"Subject: folded\r\n\tcontinued  \r\n continued again\r\nX-Odd: \x80\xff\xfe caf\xc3\xa9 \x01\x7f\r\n" +
		"Message-ID: <exact@example.invalid>\r\nnewsgroups: g\r\n")
	body := []byte("-----BEGIN PGP MESSAGE-----\r\n\r\n..dot\r\n.\r\nlone\nlf\r\n\x00nul\r\ntrailing   \r\n\r\n\r\n")
	a := &store.NewArticle{MessageID: "<exact@example.invalid>", Groups: []string{"g"}, Header: header, Body: body,
		Subject: "folded\r\n\tcontinued", From: "\x80odd", Date: "d", References: "<r1@x> <r2@x>", Bytes: 12345, Lines: 9}
	insert(t, s, a)
	for _, get := range []func() (*news.Article, error){
		func() (*news.Article, error) { return s.Article(ctx, "g", 1) },
		func() (*news.Article, error) { return s.ArticleByID(ctx, "<exact@example.invalid>") },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Header, header) || !bytes.Equal(got.Body, body) {
			t.Fatalf("bytes changed:\nheader %q\nbody   %q", got.Header, got.Body)
		}
	}
	q, err := s.ClaimQueue(ctx, "none", 1, time.Minute)
	if err != nil || len(q) != 0 {
		t.Fatalf("queue of an unknown peer: %v %v", q, err)
	}
	ov := overview(t, s, "g", news.Range{Low: 1, High: 1})
	want := news.Overview{Number: 1, Subject: a.Subject, From: a.From, Date: "d", MessageID: a.MessageID,
		References: a.References, Bytes: 12345, Lines: 9, Xref: "g:1"}
	if len(ov) != 1 || *ov[0] != want {
		t.Fatalf("overview %+v, want %+v", ov, want)
	}
	// An empty body and an empty header survive too.
	empty := &store.NewArticle{MessageID: "<empty@x>", Groups: []string{"g"}, Header: []byte{}, Body: []byte{}}
	insert(t, s, empty)
	got, err := s.ArticleByID(ctx, "<empty@x>")
	if err != nil || len(got.Header) != 0 || len(got.Body) != 0 {
		t.Fatalf("empty article: %v %+v", err, got)
	}
}

func testRanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g", "empty")
	var arts []*store.NewArticle
	for i := 1; i <= 10; i++ {
		arts = append(arts, Article(mid(i), 200, "g"))
	}
	insert(t, s, arts...)
	cases := []struct {
		r    news.Range
		want []int64
	}{
		{news.Range{Low: 3, High: 3}, []int64{3}},      // n
		{news.Range{Low: 8, High: -1}, seq(8, 10)},     // n-
		{news.Range{Low: 3, High: 5}, seq(3, 5)},       // n-m
		{news.Range{Low: 0, High: -1}, seq(1, 10)},     // everything
		{news.Range{Low: 5, High: 100}, seq(5, 10)},    // beyond high
		{news.Range{Low: 7, High: 3}, nil},             // reversed: empty
		{news.Range{Low: 11, High: -1}, nil},           // past the end
		{news.Range{Low: 20, High: 30}, nil},           // past the end
		{news.Range{Low: -5, High: 0}, nil},            // before the start
		{news.Range{Low: 1 << 62, High: 1 << 62}, nil}, // huge
	}
	for _, c := range cases {
		if got := numbers(t, s, "g", c.r); !slices.Equal(got, c.want) {
			t.Errorf("Numbers(%v) = %v, want %v", c.r, got, c.want)
		}
		var got []int64
		for _, o := range overview(t, s, "g", c.r) {
			got = append(got, o.Number)
			if o.MessageID != mid(int(o.Number)) || o.Xref != fmt.Sprintf("g:%d", o.Number) || o.Subject != arts[0].Subject ||
				o.From != arts[0].From || o.Date != arts[0].Date || o.Bytes != arts[o.Number-1].Bytes || o.Lines != arts[o.Number-1].Lines {
				t.Errorf("overview row %+v", o)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Overview(%v) = %v, want %v", c.r, got, c.want)
		}
	}
	if got := numbers(t, s, "empty", news.Range{Low: 1, High: -1}); len(got) != 0 {
		t.Errorf("Numbers of an empty group: %v", got)
	}
	if _, err := s.Numbers(ctx, "nope", news.Range{Low: 1, High: -1}); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Errorf("Numbers of a missing group: %v", err)
	}
	err := s.Overview(ctx, "nope", news.Range{Low: 1, High: -1}, func(*news.Overview) error { return nil })
	if !errors.Is(err, news.ErrNoSuchGroup) {
		t.Errorf("Overview of a missing group: %v", err)
	}
	stop := errors.New("stop here")
	calls := 0
	err = s.Overview(ctx, "g", news.Range{Low: 1, High: -1}, func(*news.Overview) error {
		calls++
		if calls == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 4 {
		t.Errorf("Overview did not stop at fn's error: %v after %d calls", err, calls)
	}
}

func testOverviewPaging(t *testing.T, s store.Store) {
	Ensure(t, s, "g")
	const n = 2345
	var arts []*store.NewArticle
	for i := 1; i <= n; i++ {
		arts = append(arts, Article(mid(i), 100, "g"))
	}
	for chunk := range slices.Chunk(arts, 500) {
		insert(t, s, chunk...)
	}
	ov := overview(t, s, "g", news.Range{Low: 1, High: -1})
	if len(ov) != n {
		t.Fatalf("%d rows, want %d", len(ov), n)
	}
	for i, o := range ov {
		if o.Number != int64(i+1) || o.MessageID != mid(i+1) {
			t.Fatalf("row %d: %+v", i, o)
		}
	}
	if ov := overview(t, s, "g", news.Range{Low: 999, High: 2001}); len(ov) != 1003 || ov[0].Number != 999 || ov[1002].Number != 2001 {
		t.Fatalf("999-2001: %d rows", len(ov))
	}
}

func testByID(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	a := Article(mid(1), 400, "g")
	a.References = "<parent@x>"
	insert(t, s, a)
	ov, err := s.OverviewByID(ctx, mid(1))
	if err != nil || ov.Number != 0 || ov.MessageID != mid(1) || ov.References != "<parent@x>" || ov.Xref != "g:1" {
		t.Fatalf("OverviewByID: %v %+v", err, ov)
	}
	if _, err := s.OverviewByID(ctx, "<missing@x>"); !errors.Is(err, news.ErrNoSuchArticle) {
		t.Fatalf("OverviewByID(missing): %v", err)
	}
	art, err := s.ArticleByID(ctx, mid(1))
	if err != nil || art.Number != 0 || !bytes.Equal(art.Header, a.Header) || !bytes.Equal(art.Body, a.Body) {
		t.Fatalf("ArticleByID: %v %+v", err, art)
	}
	if _, err := s.ArticleByID(ctx, "<missing@x>"); !errors.Is(err, news.ErrNoSuchArticle) {
		t.Fatalf("ArticleByID(missing): %v", err)
	}
	art, err = s.Article(ctx, "g", 1)
	if err != nil || art.Number != 1 || art.MessageID != mid(1) {
		t.Fatalf("Article(g, 1): %v %+v", err, art)
	}
	for _, n := range []int64{0, 2, -1, 1 << 40} {
		if _, err := s.Article(ctx, "g", n); !errors.Is(err, news.ErrNoSuchArticle) {
			t.Fatalf("Article(g, %d): %v", n, err)
		}
	}
	if _, err := s.Article(ctx, "nope", 1); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Fatalf("Article(nope, 1): %v", err)
	}
}

func testNextPrev(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g", "empty")
	old := time.Now().Add(-48 * time.Hour)
	var arts []*store.NewArticle
	for i := 1; i <= 6; i++ {
		a := Article(mid(i), 200, "g")
		if i == 2 || i == 4 || i == 5 {
			a.Arrived = old
		}
		arts = append(arts, a)
	}
	insert(t, s, arts...)
	if _, err := s.Expire(ctx, time.Now().Add(-24*time.Hour), old.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Left: 1, 3, 6.
	steps := []struct {
		next    bool
		from    int64
		want    int64
		wantErr error
	}{
		{true, 0, 1, nil}, {true, 1, 3, nil}, {true, 3, 6, nil}, {true, 4, 6, nil},
		{true, 6, 0, news.ErrNoNextArticle}, {true, 100, 0, news.ErrNoNextArticle},
		{false, 6, 3, nil}, {false, 3, 1, nil}, {false, 2, 1, nil},
		{false, 1, 0, news.ErrNoPrevArticle}, {false, 0, 0, news.ErrNoPrevArticle},
		{false, 100, 6, nil},
	}
	for _, st := range steps {
		var got int64
		var err error
		if st.next {
			got, err = s.Next(ctx, "g", st.from)
		} else {
			got, err = s.Prev(ctx, "g", st.from)
		}
		if got != st.want || !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Errorf("next=%v from %d: %d %v, want %d %v", st.next, st.from, got, err, st.want, st.wantErr)
		}
	}
	if _, err := s.Next(ctx, "empty", 0); !errors.Is(err, news.ErrNoNextArticle) {
		t.Errorf("Next in an empty group: %v", err)
	}
	if _, err := s.Prev(ctx, "empty", 1); !errors.Is(err, news.ErrNoPrevArticle) {
		t.Errorf("Prev in an empty group: %v", err)
	}
	if _, err := s.Next(ctx, "nope", 0); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Errorf("Next in a missing group: %v", err)
	}
	if _, err := s.Prev(ctx, "nope", 5); !errors.Is(err, news.ErrNoSuchGroup) {
		t.Errorf("Prev in a missing group: %v", err)
	}
}

func testNewGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	Ensure(t, s, "g1", "g2")
	got, err := s.NewGroups(ctx, before)
	if err != nil || len(got) != 2 || got[0].Name != "g1" || got[1].Name != "g2" {
		t.Fatalf("NewGroups(before): %v %+v", err, got)
	}
	got, err = s.NewGroups(ctx, time.Now().Add(time.Hour))
	if err != nil || len(got) != 0 {
		t.Fatalf("NewGroups(future): %v %+v", err, got)
	}
}

func testNewNews(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "a", "b")
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var arts []*store.NewArticle
	for i, groups := range [][]string{{"a"}, {"a", "b"}, {"b"}, {"a"}} {
		art := Article(mid(i+1), 200, groups...)
		art.Arrived = t0.Add(time.Duration(i) * time.Hour)
		arts = append(arts, art)
	}
	insert(t, s, arts...)
	got, err := s.NewNews(ctx, t0.Add(time.Hour)) // at or after: includes article 2
	if err != nil {
		t.Fatal(err)
	}
	want := []news.NewsEntry{{MessageID: mid(2), Group: "a"}, {MessageID: mid(2), Group: "b"},
		{MessageID: mid(3), Group: "b"}, {MessageID: mid(4), Group: "a"}}
	slices.SortFunc(got, func(x, y news.NewsEntry) int { return strings.Compare(x.MessageID+x.Group, y.MessageID+y.Group) })
	if !slices.Equal(got, want) {
		t.Fatalf("NewNews = %v, want %v", got, want)
	}
	got, err = s.NewNews(ctx, t0.Add(4*time.Hour))
	if err != nil || len(got) != 0 {
		t.Fatalf("NewNews(future) = %v %v", got, err)
	}
}

func pending(i int, received time.Time) *store.Pending {
	body := []byte(fmt.Sprintf("-----BEGIN PGP MESSAGE-----\r\n\r\nbody %d\r\n-----END PGP MESSAGE-----\r\n", i))
	h := make([]byte, 32)
	copy(h, fmt.Sprintf("hash-%d", i))
	return &store.Pending{MessageID: mid(1000 + i), Groups: []string{"g", "h"}, Subject: fmt.Sprintf("subject %d", i),
		Body: body, BodyHash: h, Received: received}
}

func testPending(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g", "h")
	t0 := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	var ps []*store.Pending
	for i := range 3 {
		p := pending(i, t0.Add(time.Duration(i)*time.Second))
		if err := s.AddPending(ctx, p, t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if p.ID == 0 {
			t.Fatal("AddPending left ID at 0")
		}
		ps = append(ps, p)
	}
	got, err := s.PendingArticles(ctx, 2)
	if err != nil || len(got) != 2 {
		t.Fatalf("PendingArticles(2): %v %d", err, len(got))
	}
	for i, p := range got {
		w := ps[i]
		if p.ID != w.ID || p.MessageID != w.MessageID || !slices.Equal(p.Groups, w.Groups) || p.Subject != w.Subject ||
			!bytes.Equal(p.Body, w.Body) || !bytes.Equal(p.BodyHash, w.BodyHash) || !p.Received.Equal(w.Received) {
			t.Fatalf("pending %d: %+v, want %+v", i, p, w)
		}
	}
	// Release the first two with the articles made from them.
	var arts []*store.NewArticle
	for _, p := range ps[:2] {
		arts = append(arts, Article(p.MessageID, 300, p.Groups...))
	}
	res, err := s.Insert(ctx, arts, []int64{ps[0].ID, ps[1].ID})
	if err != nil || res[0].Status != store.StatusStored {
		t.Fatalf("Insert with release: %v %+v", err, res)
	}
	got, err = s.PendingArticles(ctx, 10)
	if err != nil || len(got) != 1 || got[0].ID != ps[2].ID {
		t.Fatalf("after release: %v %+v", err, got)
	}
	// Releasing with articles all in one group works the same.
	one := pending(7, t0.Add(7*time.Second))
	one.Groups = []string{"g"}
	if err := s.AddPending(ctx, one, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	res, err = s.Insert(ctx, []*store.NewArticle{Article(one.MessageID, 300, "g")}, []int64{one.ID})
	if err != nil || res[0].Status != store.StatusStored || res[0].Numbers["g"] == 0 {
		t.Fatalf("Insert in one group with release: %v %+v", err, res)
	}
	got, err = s.PendingArticles(ctx, 10)
	if err != nil || len(got) != 1 || got[0].ID != ps[2].ID {
		t.Fatalf("after the release in one group: %v %+v", err, got)
	}
	// A failing Insert releases nothing.
	bad := Article("not a message-id", 300, "g")
	if _, err := s.Insert(ctx, []*store.NewArticle{bad}, []int64{ps[2].ID}); err == nil {
		t.Fatal("Insert of a bad article succeeded")
	}
	if got, _ := s.PendingArticles(ctx, 10); len(got) != 1 {
		t.Fatalf("a failed Insert released posts: %d left", len(got))
	}
}

func testReplay(t *testing.T, s store.Store) {
	ctx := t.Context()
	const day = 24 * time.Hour
	t0 := time.Now().Add(-3 * day)
	first := pending(1, t0)
	if err := s.AddPending(ctx, first, t0.Add(-day)); err != nil {
		t.Fatal(err)
	}
	again := pending(1, t0.Add(time.Minute))
	again.MessageID = "<again@x>"
	// Within the window (the first was at t0, the window starts before it).
	if err := s.AddPending(ctx, again, t0.Add(-time.Minute)); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("replay within window: %v, want ErrReplay", err)
	}
	if got, _ := s.PendingArticles(ctx, 10); len(got) != 1 {
		t.Fatalf("a refused replay was kept: %d pending", len(got))
	}
	// The claim is kept at day grain (the end of t0's day): a window that
	// starts after t0 but within its day still refuses.
	if err := s.AddPending(ctx, again, t0.Add(time.Second)); !errors.Is(err, store.ErrReplay) && store.Day(t0).After(t0.Add(time.Second)) {
		t.Fatalf("replay within the day: %v, want ErrReplay", err)
	}
	// The window starts after the first's day: allowed, and it now counts
	// from again's day.
	again.Received = t0.Add(day)
	if err := s.AddPending(ctx, again, store.Day(t0).Add(time.Second)); err != nil {
		t.Fatalf("replay after the window: %v", err)
	}
	third := pending(1, t0.Add(day+time.Minute))
	third.MessageID = "<third@x>"
	if err := s.AddPending(ctx, third, store.Day(t0).Add(2*time.Second)); !errors.Is(err, store.ErrReplay) {
		t.Fatalf("the window did not move to the second post: %v", err)
	}
	if got, _ := s.PendingArticles(ctx, 10); len(got) != 2 {
		t.Fatalf("%d pending, want 2", len(got))
	}
}

// testReplayAfterRelease: a released post's claim still refuses its
// body (PostgreSQL re-inserts the claims of released posts in release
// order, in the transaction that releases them).
func testReplayAfterRelease(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	t0 := time.Now()
	ps := []*store.Pending{pending(1, t0), pending(2, t0), pending(3, t0)}
	for _, p := range ps {
		p.Groups = []string{"g"}
		if err := s.AddPending(ctx, p, t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	arts := []*store.NewArticle{Article(ps[2].MessageID, 100, "g"), Article(ps[0].MessageID, 100, "g")}
	if _, err := s.Insert(ctx, arts, []int64{ps[2].ID, ps[0].ID}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2} {
		again := pending(i+1, t0.Add(time.Minute))
		again.MessageID = fmt.Sprintf("<again%d@x>", i)
		if err := s.AddPending(ctx, again, t0.Add(-time.Hour)); !errors.Is(err, store.ErrReplay) {
			t.Fatalf("post %d after release: %v, want ErrReplay", i, err)
		}
	}
}

func testSecret(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, err := s.Secret(ctx, "one")
	if err != nil || len(a) != 32 {
		t.Fatalf("secret %x, %v", a, err)
	}
	again, err := s.Secret(ctx, "one")
	if err != nil || !bytes.Equal(a, again) {
		t.Fatalf("secret changed: %x %x %v", a, again, err)
	}
	other, err := s.Secret(ctx, "two")
	if err != nil || bytes.Equal(a, other) {
		t.Fatalf("two names, one secret: %x %v", other, err)
	}
}

func testStamps(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Now().Add(-time.Hour)
	stamp := "1:20:261125:alt.crypt.messages::abc:def"
	if err := s.SpendStamp(ctx, stamp, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SpendStamp(ctx, stamp, t0.Add(time.Minute)); !errors.Is(err, store.ErrStampSpent) {
		t.Fatalf("second spend: %v", err)
	}
	if err := s.SpendStamp(ctx, stamp+"x", t0); err != nil {
		t.Fatal(err)
	}
	// Stamps keep the day only (its end): expiry counts from there.
	if _, err := s.Expire(ctx, t0.Add(-time.Hour), store.Day(t0).Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.SpendStamp(ctx, stamp, time.Now()); err != nil {
		t.Fatalf("after the history window: %v", err)
	}
}

func testSeenRemember(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	insert(t, s, Article(mid(1), 200, "g"))
	if err := s.Remember(ctx, []string{mid(2), mid(2), mid(1)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Remember(ctx, []string{mid(2)}, time.Now()); err != nil {
		t.Fatalf("Remember twice: %v", err)
	}
	if err := s.Remember(ctx, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	seen, err := s.Seen(ctx, []string{mid(1), mid(2), mid(3)})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(seen, map[string]bool{mid(1): true, mid(2): true, mid(3): false}) {
		t.Fatalf("Seen = %v", seen)
	}
	var many []string
	for i := range 1200 {
		many = append(many, mid(5000+i))
	}
	if err := s.Remember(ctx, many, time.Now()); err != nil {
		t.Fatal(err)
	}
	seen, err = s.Seen(ctx, append(many, mid(3)))
	if err != nil || len(seen) != 1201 || seen[mid(3)] || !seen[many[1199]] {
		t.Fatalf("Seen of 1201 ids: %v (%d entries)", err, len(seen))
	}
	// Remembered ids are not articles.
	if _, err := s.ArticleByID(ctx, mid(2)); !errors.Is(err, news.ErrNoSuchArticle) {
		t.Fatalf("ArticleByID(remembered): %v", err)
	}
}

func testExpire(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "a", "b")
	now := time.Now()
	old := now.Add(-40 * 24 * time.Hour)
	var arts []*store.NewArticle
	for i := 1; i <= 6; i++ {
		art := Article(mid(i), 200, "a")
		if i <= 3 {
			art.Arrived = old
		}
		if i == 3 {
			art.Groups = []string{"a", "b"} // a:3 b:1
		}
		art.Peers = []string{"peer"}
		arts = append(arts, art)
	}
	exp := Article(mid(7), 200, "b") // b:2, its Expires has passed
	exp.Expires = now.Add(-time.Minute)
	arts = append(arts, exp, Article(mid(8), 200, "b")) // b:3
	insert(t, s, arts...)
	wantMarks(t, s, "a", 1, 6, 6)
	wantMarks(t, s, "b", 1, 3, 3)

	st, err := s.Expire(ctx, now.Add(-30*24*time.Hour), old.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.Articles != 4 || st.History != 0 {
		t.Fatalf("ExpireStats %+v, want 4 articles, 0 history", st)
	}
	wantMarks(t, s, "a", 4, 6, 3)
	wantMarks(t, s, "b", 3, 3, 1)
	for _, i := range []int{1, 2, 3, 7} {
		if _, err := s.ArticleByID(ctx, mid(i)); !errors.Is(err, news.ErrNoSuchArticle) {
			t.Fatalf("expired article %d still there: %v", i, err)
		}
		if _, err := s.OverviewByID(ctx, mid(i)); !errors.Is(err, news.ErrNoSuchArticle) {
			t.Fatalf("expired overview %d still there: %v", i, err)
		}
	}
	if _, err := s.Article(ctx, "a", 2); !errors.Is(err, news.ErrNoSuchArticle) {
		t.Fatalf("Article(a, 2) after expiry: %v", err)
	}
	if got := numbers(t, s, "a", news.Range{Low: 1, High: -1}); !slices.Equal(got, []int64{4, 5, 6}) {
		t.Fatalf("numbers after expiry: %v", got)
	}
	seen, err := s.Seen(ctx, []string{mid(1), mid(3), mid(7)})
	if err != nil || !seen[mid(1)] || !seen[mid(3)] || !seen[mid(7)] {
		t.Fatalf("history lost with the articles: %v %v", seen, err)
	}
	if res := insert(t, s, Article(mid(1), 200, "a")); res[0].Status != store.StatusDuplicate {
		t.Fatalf("an expired id was stored again: %+v", res[0])
	}
	q, err := s.ClaimQueue(ctx, "peer", 100, time.Minute)
	if err != nil || len(q) != 3 {
		t.Fatalf("queue after expiry: %d rows (%v), want the 3 left", len(q), err)
	}

	// Expire everything: empty groups keep high, low = high + 1.
	if _, err := s.Expire(ctx, now.Add(time.Hour), old.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantMarks(t, s, "a", 7, 6, 0)
	wantMarks(t, s, "b", 4, 3, 0)
	res := insert(t, s, Article(mid(9), 200, "a", "b"))
	if !maps.Equal(res[0].Numbers, map[string]int64{"a": 7, "b": 4}) {
		t.Fatalf("numbers after emptying: %v", res[0].Numbers)
	}
	wantMarks(t, s, "a", 7, 7, 1)
	wantMarks(t, s, "b", 4, 4, 1)
	if st, err := s.Expire(ctx, old, old); err != nil || st.Articles != 0 {
		t.Fatalf("nothing to expire: %+v %v", st, err)
	}
}

func testExpireHistory(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	now := time.Now()
	old := now.Add(-100 * 24 * time.Hour)
	a := Article(mid(1), 200, "g")
	a.Arrived = old
	keep := Article(mid(2), 200, "g")
	keep.Arrived = old // an old article still kept (articlesBefore is older)
	insert(t, s, a)
	if err := s.Remember(ctx, []string{mid(3)}, old); err != nil {
		t.Fatal(err)
	}
	if err := s.Remember(ctx, []string{mid(4)}, now); err != nil {
		t.Fatal(err)
	}
	// Expire the article, keep the history.
	if _, err := s.Expire(ctx, old.Add(time.Second), old.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	insert(t, s, keep)
	// Purge history older than 10 days; the kept article's history stays with it.
	st, err := s.Expire(ctx, old.Add(-time.Hour), now.Add(-10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.History != 2 || st.Articles != 0 {
		t.Fatalf("ExpireStats %+v, want 2 history entries", st)
	}
	seen, err := s.Seen(ctx, []string{mid(1), mid(2), mid(3), mid(4)})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(seen, map[string]bool{mid(1): false, mid(2): true, mid(3): false, mid(4): true}) {
		t.Fatalf("Seen after purge: %v", seen)
	}
	// A purged id may come back.
	if res := insert(t, s, Article(mid(1), 200, "g")); res[0].Status != store.StatusStored {
		t.Fatalf("purged id refused: %+v", res[0])
	}
}

func queued(q []*store.Queued) []int64 {
	return ids(q, func(x *store.Queued) int64 { return x.ArticleID })
}

// ids lists the id of each of xs.
func ids[T any](xs []T, id func(T) int64) []int64 {
	var out []int64
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func testQueue(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	var arts []*store.NewArticle
	for i := 1; i <= 5; i++ {
		a := Article(mid(i), 300, "g")
		a.Peers = []string{"p1", "p2"}
		arts = append(arts, a)
	}
	arts[4].Peers = []string{"p1"}
	res := insert(t, s, arts...)
	var ids []int64
	for _, r := range res {
		ids = append(ids, r.ArticleID)
	}
	first, err := s.ClaimQueue(ctx, "p1", 3, time.Hour)
	if err != nil || !slices.Equal(queued(first), ids[:3]) {
		t.Fatalf("claim 3: %v %v, want %v", queued(first), err, ids[:3])
	}
	for i, q := range first {
		if q.Attempts != 1 || q.MessageID != mid(i+1) || !bytes.Equal(q.Header, arts[i].Header) || !bytes.Equal(q.Body, arts[i].Body) {
			t.Fatalf("queued %d: attempts %d id %s", i, q.Attempts, q.MessageID)
		}
	}
	rest, err := s.ClaimQueue(ctx, "p1", 10, time.Hour)
	if err != nil || !slices.Equal(queued(rest), ids[3:]) {
		t.Fatalf("claim the rest: %v %v", queued(rest), err)
	}
	if none, err := s.ClaimQueue(ctx, "p1", 10, time.Hour); err != nil || len(none) != 0 {
		t.Fatalf("everything is leased, got %v %v", queued(none), err)
	}
	if p2, err := s.ClaimQueue(ctx, "p2", 10, time.Hour); err != nil || !slices.Equal(queued(p2), ids[:4]) {
		t.Fatalf("p2: %v %v", queued(p2), err)
	}
	if err := s.AckQueue(ctx, "p1", ids[:3]); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryQueue(ctx, "p1", ids[3:], time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	again, err := s.ClaimQueue(ctx, "p1", 10, time.Hour)
	if err != nil || !slices.Equal(queued(again), ids[3:]) || again[0].Attempts != 2 {
		t.Fatalf("after retry: %v %v", queued(again), err)
	}
	// A retry in the future stays hidden until then.
	if err := s.RetryQueue(ctx, "p1", ids[3:4], time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimQueue(ctx, "p1", 10, time.Hour); err != nil || len(got) != 0 {
		t.Fatalf("a future retry was handed out: %v %v", queued(got), err)
	}
	if err := s.AckQueue(ctx, "p1", ids); err != nil {
		t.Fatal(err)
	}
	if err := s.AckQueue(ctx, "p1", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryQueue(ctx, "p2", ids[:4], time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimQueue(ctx, "p1", 10, time.Hour); err != nil || len(got) != 0 {
		t.Fatalf("acked rows came back: %v %v", queued(got), err)
	}
	if got, err := s.ClaimQueue(ctx, "p2", 2, time.Hour); err != nil || !slices.Equal(queued(got), ids[:2]) {
		t.Fatalf("p2 after its retry: %v %v", queued(got), err)
	}
	if got, err := s.ClaimQueue(ctx, "p2", 0, time.Hour); err != nil || len(got) != 0 {
		t.Fatalf("limit 0: %v %v", queued(got), err)
	}
}

func testQueueLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	a := Article(mid(1), 300, "g")
	a.Peers = []string{"p"}
	insert(t, s, a)
	got, err := s.ClaimQueue(ctx, "p", 10, 300*time.Millisecond)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v %v", queued(got), err)
	}
	if got, err := s.ClaimQueue(ctx, "p", 10, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("claimed while leased: %v %v", queued(got), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err = s.ClaimQueue(ctx, "p", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease never ran out")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got[0].Attempts != 2 {
		t.Fatalf("attempts %d after the lease ran out, want 2", got[0].Attempts)
	}
}

func testExclusive(t *testing.T, s store.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	var innerSame, innerOther bool
	ran, err := s.Exclusive(ctx, "expire", func(ctx context.Context) error {
		var err error
		innerSame, err = s.Exclusive(ctx, "expire", func(context.Context) error {
			t.Error("the same job ran twice at once")
			return nil
		})
		if err != nil {
			return err
		}
		innerOther, err = s.Exclusive(ctx, "release", func(context.Context) error { return nil })
		if err != nil {
			return err
		}
		return boom
	})
	if !ran || !errors.Is(err, boom) {
		t.Fatalf("outer: ran=%v err=%v, want ran and boom", ran, err)
	}
	if innerSame || !innerOther {
		t.Fatalf("inner same ran=%v (want false), other ran=%v (want true)", innerSame, innerOther)
	}
	ran, err = s.Exclusive(ctx, "expire", func(context.Context) error { return nil })
	if !ran || err != nil {
		t.Fatalf("after release: ran=%v err=%v", ran, err)
	}
	// Concurrent callers: never two at once.
	var mu sync.Mutex
	running, maxRunning, runs := 0, 0, 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				ran, err := s.Exclusive(ctx, "job", func(context.Context) error {
					mu.Lock()
					running++
					runs++
					maxRunning = max(maxRunning, running)
					mu.Unlock()
					time.Sleep(time.Millisecond)
					mu.Lock()
					running--
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Error(err)
				}
				_ = ran
			}
		})
	}
	wg.Wait()
	if maxRunning != 1 || runs == 0 {
		t.Fatalf("%d runs, at most %d at once", runs, maxRunning)
	}
}

// Wait waits for a wake-up on ch, failing t after timeout.
func Wait(t testing.TB, ch <-chan struct{}, timeout time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(timeout):
		t.Fatalf("no wake-up within %v: %s", timeout, what)
	}
}

// Drain empties a wake-up channel.
func Drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func testChanges(t *testing.T, s store.Store) {
	Ensure(t, s, "g")
	ch := s.Changes()
	if ch != s.Changes() {
		t.Fatal("Changes returns a different channel on each call")
	}
	time.Sleep(50 * time.Millisecond)
	Drain(ch)
	insert(t, s, Article(mid(1), 200, "g"))
	Wait(t, ch, 10*time.Second, "after Insert")
	// Many inserts never block, and coalesce.
	for i := 2; i < 20; i++ {
		insert(t, s, Article(mid(i), 200, "g"))
	}
	Wait(t, ch, 10*time.Second, "after many inserts")
}

func testBadInput(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	for _, id := range []string{"", "no-brackets", "<a b>", "<a\r\n>", "<caf\xc3\xa9@x>", "<\x80@x>", "<" + strings.Repeat("x", 300) + ">"} {
		a := Article(mid(1), 100, "g")
		a.MessageID = id
		if _, err := s.Insert(ctx, []*store.NewArticle{Article(mid(2), 100, "g"), a}, nil); err == nil {
			t.Errorf("Insert accepted message-id %q", id)
		}
	}
	if _, err := s.Insert(ctx, []*store.NewArticle{nil}, nil); err == nil {
		t.Error("Insert accepted a nil article")
	}
	wantMarks(t, s, "g", 1, 0, 0) // nothing of a refused batch is stored
	if res, err := s.Insert(ctx, nil, nil); err != nil || len(res) != 0 {
		t.Errorf("empty Insert: %v %v", res, err)
	}
	if err := s.AddPending(ctx, &store.Pending{MessageID: mid(1), Groups: []string{"g"}}, time.Now()); err == nil {
		t.Error("AddPending accepted a post without a body hash")
	}
}

// testConcurrency is the trap of docs/storage.md: 8 writers, one reader that
// remembers its high-water mark. The reader must see every article, and
// each poll must find exactly the numbers between its old mark and the new
// high, none missing.
func testConcurrency(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "g")
	const writers, perWriter = 8, 250
	const total = writers * perWriter

	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			batch := 1
			if w%2 == 1 {
				batch = 5
			}
			for i := 0; i < perWriter; i += batch {
				var arts []*store.NewArticle
				for j := i; j < i+batch && j < perWriter; j++ {
					arts = append(arts, Article(mid(w*perWriter+j), 200, "g"))
				}
				if _, err := s.Insert(ctx, arts, nil); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}

	seen := make(map[string]int64)
	var last int64
	polls := 0
	poll := func() error {
		polls++
		g, err := s.Group(ctx, "g")
		if err != nil {
			return err
		}
		if g.High < last {
			return fmt.Errorf("high went down: %d after %d", g.High, last)
		}
		if g.High == last {
			return nil
		}
		want := last + 1
		err = s.Overview(ctx, "g", news.Range{Low: last + 1, High: g.High}, func(o *news.Overview) error {
			if o.Number != want {
				return fmt.Errorf("poll %d-%d: got article %d, want %d (a gap a reader would never see again)",
					last+1, g.High, o.Number, want)
			}
			want++
			if prev, dup := seen[o.MessageID]; dup {
				return fmt.Errorf("%s numbered twice: %d and %d", o.MessageID, prev, o.Number)
			}
			seen[o.MessageID] = o.Number
			return nil
		})
		if err != nil {
			return err
		}
		if want != g.High+1 {
			return fmt.Errorf("poll %d-%d stopped at %d", last+1, g.High, want-1)
		}
		last = g.High
		return nil
	}
	// The reader polls until the writers are done, then once more.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for final := false; !final; {
			select {
			case <-done:
				final = true
			default:
			}
			if err := poll(); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	<-readerDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total || last != total {
		t.Fatalf("the reader saw %d articles up to %d, want %d", len(seen), last, total)
	}
	for w := range writers {
		for j := range perWriter {
			if _, ok := seen[mid(w*perWriter+j)]; !ok {
				t.Fatalf("reader missed %s", mid(w*perWriter+j))
			}
		}
	}
	if got := numbers(t, s, "g", news.Range{Low: 1, High: -1}); !slices.Equal(got, seq(1, total)) {
		t.Fatalf("numbers are not exactly 1..%d (%d of them)", total, len(got))
	}
	wantMarks(t, s, "g", 1, total, total)
	t.Logf("%d polls by the reader", polls)
}

// testConcurrentCrossposts: writers crosspost to the same groups in
// different Newsgroups orders and race on the same message-ids. Nothing may
// deadlock or fail, each id is stored once, and every group is numbered
// 1..N without gaps.
func testConcurrentCrossposts(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "a", "b", "c")
	orders := [][]string{{"a", "b"}, {"b", "a"}, {"c", "b", "a"}, {"a", "c"}}
	const writers, batches, batch = 4, 40, 3
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := make(map[string]store.InsertResult)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var arts []*store.NewArticle
				for k := range batch {
					// Writers w and w^1 share ids, in opposite orders within the batch.
					id := fmt.Sprintf("<x%d.%d.%d@race>", w/2, b, k)
					if w%2 == 1 {
						id = fmt.Sprintf("<x%d.%d.%d@race>", w/2, b, batch-1-k)
					}
					arts = append(arts, Article(id, 200, orders[(w+k)%len(orders)]...))
				}
				res, err := s.Insert(ctx, arts, nil)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				for i, r := range res {
					if r.Status == store.StatusStored {
						if _, dup := stored[arts[i].MessageID]; dup {
							t.Errorf("%s stored twice", arts[i].MessageID)
						}
						stored[arts[i].MessageID] = r
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if want := writers / 2 * batches * batch; len(stored) != want {
		t.Fatalf("%d articles stored, want %d", len(stored), want)
	}
	counts := map[string]int64{}
	for _, r := range stored {
		for g := range r.Numbers {
			counts[g]++
		}
	}
	for _, g := range []string{"a", "b", "c"} {
		if got := numbers(t, s, g, news.Range{Low: 1, High: -1}); !slices.Equal(got, seq(1, counts[g])) {
			t.Fatalf("group %s: numbers are not 1..%d: %v", g, counts[g], got)
		}
		wantMarks(t, s, g, 1, counts[g], counts[g])
		for _, o := range overview(t, s, g, news.Range{Low: 1, High: -1}) {
			r := stored[o.MessageID]
			if r.Numbers[g] != o.Number {
				t.Fatalf("%s: overview says %s:%d, Insert said %v", o.MessageID, g, o.Number, r.Numbers)
			}
		}
	}
}

// testExpireWhileInserting: expiry runs while writers insert; afterwards
// each group's count and low-water mark match its rows.
func testExpireWhileInserting(t *testing.T, s store.Store) {
	ctx := t.Context()
	Ensure(t, s, "a", "b")
	old := time.Now().Add(-72 * time.Hour)
	var arts []*store.NewArticle
	for i := range 300 {
		a := Article(fmt.Sprintf("<old%d@x>", i), 200, "a", "b")
		a.Arrived = old
		arts = append(arts, a)
	}
	insert(t, s, arts...)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := range 60 {
				groups := []string{"a", "b"}
				if i%2 == 1 {
					groups = []string{"b", "a"}
				}
				if _, err := s.Insert(ctx, []*store.NewArticle{Article(fmt.Sprintf("<new%d.%d@x>", w, i), 200, groups...)}, nil); err != nil {
					t.Errorf("insert: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := s.Expire(ctx, time.Now().Add(-24*time.Hour), old.Add(-time.Hour)); err != nil {
				t.Errorf("expire: %v", err)
				return
			}
		}
	})
	wg.Wait()
	if t.Failed() {
		return
	}
	if _, err := s.Expire(ctx, time.Now().Add(-24*time.Hour), old.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"a", "b"} {
		got := numbers(t, s, g, news.Range{Low: 1, High: -1})
		if !slices.Equal(got, seq(301, 480)) {
			t.Fatalf("group %s after expiry: %d numbers from %v, want 301..480", g, len(got), got[:min(3, len(got))])
		}
		wantMarks(t, s, g, 301, 480, 180)
	}
}
