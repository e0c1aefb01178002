// Package injecttest runs nntpd's injecting stack in process for the
// tests of clients that post and read: the backend over a fresh SQLite
// store, served by nntp.Server on 127.0.0.1.
package injecttest

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/nntptest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite/sqlitetest"
)

// Backend is an injecting backend with cfg over a fresh SQLite store,
// closed when the test ends.
func Backend(t testing.TB, cfg inject.Config) *inject.Injector {
	t.Helper()
	b, _ := BackendAndStore(t, cfg)
	return b
}

// BackendAndStore is Backend and its store.
func BackendAndStore(t testing.TB, cfg inject.Config) (*inject.Injector, store.Store) {
	t.Helper()
	st := sqlitetest.Open(t)
	b, err := inject.New(context.Background(), st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b, st
}

// Start serves Backend(t, cfg) on 127.0.0.1 until the test ends and
// returns the address.
func Start(t testing.TB, cfg inject.Config) string {
	t.Helper()
	return nntptest.ServeNNTP(t, &nntp.Server{Backend: Backend(t, cfg)}, nil)
}
