package transittest

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/postgres"
)

// OpenPostgres opens a PostgreSQL store on a fresh database (pgtest; the
// test package must call pgtest.Main from TestMain), carrying Group.
func OpenPostgres(tb testing.TB) store.Store {
	tb.Helper()
	return OpenPostgresDSN(tb, pgtest.NewDatabase(tb))
}

// OpenPostgresDSN opens a PostgreSQL store on dsn, carrying Group.
func OpenPostgresDSN(tb testing.TB, dsn string) store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.EnsureGroup(ctx, Group, "OpenPGP-encrypted messages"); err != nil {
		tb.Fatal(err)
	}
	return st
}
