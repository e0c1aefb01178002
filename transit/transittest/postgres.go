package transittest

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/postgres"
	"github.com/altcrypt/altcrypt/store/storetest"
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
	return carrying(tb, storetest.Open(tb, func(ctx context.Context) (*postgres.Store, error) {
		return postgres.Open(ctx, dsn)
	}))
}
