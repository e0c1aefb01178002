// Package sqlitetest opens the throwaway SQLite stores of tests.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite"
	"github.com/altcrypt/altcrypt/store/storetest"
)

// Open opens a fresh SQLite store in a temporary directory, closed when
// the test ends (after any server started later: cleanups run last
// first).
func Open(t testing.TB) store.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "news.db")
	return storetest.Open(t, func(ctx context.Context) (*sqlite.Store, error) { return sqlite.Open(ctx, path) })
}
