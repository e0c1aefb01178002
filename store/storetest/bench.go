package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
)

// BodySize is the article body size of the benchmarks: about what a short
// encrypted message with its armor weighs.
const BodySize = 3 * 1024

// BenchInsert measures Insert of 3 KB articles into one group: batches of
// 1 and 100 from one goroutine, and batches of 1 from 8 goroutines (the
// case of storage.md's article-number trap). It reports articles/s.
func BenchInsert(b *testing.B, open func(testing.TB) store.Store) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := open(b)
			ensure(b, s, "g")
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
		ensure(b, s, "g")
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

// fill stores n articles of 3 KB in group g, in batches of 500.
func fill(b *testing.B, s store.Store, g string, n int) {
	b.Helper()
	ensure(b, s, g)
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
	const n = 10000
	s := open(b)
	fill(b, s, "g", n)
	ctx := context.Background()
	rows := 0
	for b.Loop() {
		err := s.Overview(ctx, "g", nntp.Range{Low: 1, High: -1}, func(*nntp.Overview) error {
			rows++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if rows%n != 0 {
		b.Fatalf("%d rows read, not a multiple of %d", rows, n)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchArticle measures ARTICLE by number over 10,000 articles of 3 KB
// and reports articles/s.
func BenchArticle(b *testing.B, open func(testing.TB) store.Store) {
	const n = 10000
	s := open(b)
	fill(b, s, "g", n)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		a, err := s.Article(ctx, "g", int64(i%n)+1)
		if err != nil || len(a.Body) < BodySize-100 {
			b.Fatalf("Article: %v", err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "articles/s")
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
