package outfeed_test

import (
	"testing"

	"github.com/altcrypt/altcrypt/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
