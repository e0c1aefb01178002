package main

import (
	"testing"

	"github.com/altcrypt/altcrypt/internal/pgtest"
)

// TestMain provides PostgreSQL (DATABASE_URL, or a throwaway server) for
// the tests that run nntpd and its subcommands on both stores.
func TestMain(m *testing.M) { pgtest.Main(m) }
