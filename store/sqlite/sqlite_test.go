package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite"
	"github.com/altcrypt/altcrypt/store/storetest"
)

func TestStore(t *testing.T) { storetest.Run(t, open) }

// open opens a store in a fresh file.
func open(t testing.TB) store.Store { return openPath(t, filepath.Join(t.TempDir(), "news.db")) }

func openPath(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	return storetest.Open(t, func(ctx context.Context) (*sqlite.Store, error) { return sqlite.Open(ctx, path) })
}

// openCarrying opens a store in a fresh file, carrying group g, and
// returns its path.
func openCarrying(t *testing.T) (*sqlite.Store, string) {
	path := filepath.Join(t.TempDir(), "news.db")
	s := openPath(t, path)
	storetest.Ensure(t, s, "g")
	return s, path
}

// TestReopen checks that data and numbering survive a restart and that
// migrations are applied once.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	s, path := openCarrying(t)
	if _, err := s.Insert(ctx, []*store.NewArticle{storetest.Article("<1@x>", 500, "g")}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openPath(t, path)
	res, err := s.Insert(ctx, []*store.NewArticle{storetest.Article("<2@x>", 500, "g")}, nil)
	if err != nil || res[0].Numbers["g"] != 2 {
		t.Fatalf("after reopen: %v %+v", err, res)
	}
}

// TestUnavailable: a database file that cannot be opened is a temporary
// failure (store.ErrUnavailable), not a refusal.
func TestUnavailable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "missing", "news.db")
	_, err := sqlite.Open(t.Context(), path)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open(%s): %v, want ErrUnavailable", path, err)
	}
	if _, err := sqlite.Open(t.Context(), "bad?path"); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open(bad?path): %v, want a plain error", err)
	}
}

func BenchmarkInsert(b *testing.B)       { storetest.BenchInsert(b, open) }
func BenchmarkOverview(b *testing.B)     { storetest.BenchOverview(b, open) }
func BenchmarkArticle(b *testing.B)      { storetest.BenchArticle(b, open) }
func BenchmarkPending(b *testing.B)      { storetest.BenchPending(b, open) }
func BenchmarkPendingBatch(b *testing.B) { storetest.BenchPendingBatch(b, open) }

// TestBusy: another process holding the write lock beyond the deadline is
// a temporary failure, and nothing is lost once it lets go.
func TestBusy(t *testing.T) {
	ctx := t.Context()
	s, path := openCarrying(t)
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = s.Insert(dctx, []*store.NewArticle{storetest.Article("<1@x>", 300, "g")}, nil)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Insert while another process holds the lock: %v, want ErrUnavailable", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Insert(ctx, []*store.NewArticle{storetest.Article("<1@x>", 300, "g")}, nil)
	if err != nil || res[0].Status != store.StatusStored || res[0].Numbers["g"] != 1 {
		t.Fatalf("after the lock is gone: %v %+v", err, res)
	}
}
