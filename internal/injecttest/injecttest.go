// Package injecttest makes the injecting backend alone over a fresh
// SQLite store, for tests that wrap it or serve it themselves; the whole
// server as nntpd builds it is node/nodetest.
package injecttest

import (
	"context"
	"testing"

	"github.com/altcrypt/altcrypt/inject"
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
