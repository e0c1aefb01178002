package storetest

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/store"
)

// Open opens a store with open and closes it when tb ends; an error
// fails tb.
func Open[S store.Store](tb testing.TB, open func(ctx context.Context) (S, error)) S {
	tb.Helper()
	s, err := open(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
