package e2e

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/internal/pgtest"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/postgres"
)

// TestMain stops the throwaway PostgreSQL (if pgtest started one) after
// the tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

func postgresKind() storeKind {
	return storeKind{
		name: "postgres",
		open: func(t testing.TB) store.Store {
			t.Helper()
			st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		dsn: func(t testing.TB) string { return pgtest.NewDatabase(t) },
	}
}
