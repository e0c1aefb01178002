package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/store"
)

// BodySize is the article body size of the benchmarks: about what a short
// encrypted message with its armor weighs.
const BodySize = 3 * 1024

// BenchInsert measures Insert of 3 KB articles into one group: batches of
// 1 and 100 from one goroutine, and batches of 1 from 8 goroutines (the
// case of docs/storage.md's article-number trap). It reports articles/s.
func BenchInsert(b *testing.B, open func(testing.TB) store.Store) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := open(b)
			Ensure(b, s, "g")
			ctx := context.Background()
			n := 0
			for b.Loop() {
				arts := make([]*store.NewArticle, batch)
				for i := range arts {
					arts[i] = Article(fmt.Sprintf("<b%d@bench>", n), BodySize, "g")
					n++
				}
				if _, err := s.Insert(ctx, arts, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "articles/s")
		})
	}
	b.Run("writers=8", func(b *testing.B) {
		s := open(b)
		Ensure(b, s, "g")
		ctx := context.Background()
		var n atomic.Int64
		b.SetParallelism(max(1, 8/max(1, testingProcs())))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if _, err := s.Insert(ctx, []*store.NewArticle{Article(fmt.Sprintf("<p%d@bench>", i), BodySize, "g")}, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "articles/s")
	})
}

// readArticles is how many articles the read benchmarks read from.
const readArticles = 10000

// filled opens a store holding readArticles articles of 3 KB in group g.
func filled(b *testing.B, open func(testing.TB) store.Store) store.Store {
	s := open(b)
	fill(b, s, "g", readArticles)
	return s
}

// fill stores n articles of 3 KB in group g, in batches of 500.
func fill(b *testing.B, s store.Store, g string, n int) {
	b.Helper()
	Ensure(b, s, g)
	for i := 0; i < n; i += 500 {
		var arts []*store.NewArticle
		for j := i; j < i+500 && j < n; j++ {
			arts = append(arts, Article(fmt.Sprintf("<f%d@bench>", j), BodySize, g))
		}
		insert(b, s, arts...)
	}
}

// BenchOverview measures OVER of a whole group of 10,000 articles and
// reports rows/s.
func BenchOverview(b *testing.B, open func(testing.TB) store.Store) {
	s, rows := filled(b, open), 0
	ctx := context.Background()
	for b.Loop() {
		err := s.Overview(ctx, "g", news.Range{Low: 1, High: -1}, func(*news.Overview) error {
			rows++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if rows%readArticles != 0 {
		b.Fatalf("%d rows read, not a multiple of %d", rows, readArticles)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchArticle measures ARTICLE by number over 10,000 articles of 3 KB
// and reports articles/s.
func BenchArticle(b *testing.B, open func(testing.TB) store.Store) {
	s := filled(b, open)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		a, err := s.Article(ctx, "g", int64(i%readArticles)+1)
		if err != nil || len(a.Body) < BodySize-100 {
			b.Fatalf("Article: %v", err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "articles/s")
}

// benchPost is a pending post of 3 KB with a body hash of its own.
func benchPost(i int64) *store.Pending {
	p := pending(int(i), time.Now())
	p.MessageID = fmt.Sprintf("<p%d@bench>", i)
	p.Body = make([]byte, BodySize)
	sum := sha256.Sum256(binary.AppendVarint(nil, i))
	p.BodyHash = sum[:]
	return p
}

// openPending opens a store for the pending benchmarks, with the replay
// window they pass.
func openPending(b *testing.B, open func(testing.TB) store.Store) (s store.Store, replaySince time.Time) {
	s = open(b)
	Ensure(b, s, "g", "h")
	return s, time.Now().Add(-time.Hour)
}

// BenchPending measures AddPending of 3 KB posts from one goroutine and
// from 8, and reports posts/s.
func BenchPending(b *testing.B, open func(testing.TB) store.Store) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, since := openPending(b, open)
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(max(1, writers/max(1, testingProcs())))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.AddPending(ctx, benchPost(n.Add(1)), since); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "posts/s")
		})
	}
}

// BenchPendingBatch measures AddPendingBatch of 3 KB posts in batches of
// 8 and 64 and reports posts/s.
func BenchPendingBatch(b *testing.B, open func(testing.TB) store.Store) {
	for _, size := range []int{8, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, since := openPending(b, open)
			ctx := context.Background()
			var n int64
			for b.Loop() {
				ps := make([]*store.Pending, size)
				for i := range ps {
					n++
					ps[i] = benchPost(n)
				}
				for _, err := range s.AddPendingBatch(ctx, ps, since) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "posts/s")
		})
	}
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
