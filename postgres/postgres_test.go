package postgres_test

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/postgres"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t testing.TB) store.Store {
	t.Helper()
	return openDSN(t, pgtest.NewDatabase(t))
}

func openDSN(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}
