package e2e

import (
	"context"
	"strconv"
	"testing"

	"github.com/altcrypt/altcrypt/nntp"
)

// TestHdrOutsideOverviewBounded: HDR of a header that is not in the
// overview reads every article of its range, so a range of more than
// nntp.DefaultMaxHeaderScan articles is refused (503) on every store,
// while a range within it, and an overview header over the whole group,
// are answered.
func TestHdrOutsideOverviewBounded(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		st := k.open(t)
		n := nntp.DefaultMaxHeaderScan + 1
		srv := startServerManual(t, st, nil)
		populate(t, st, n)
		c := dial(t, srv.Addr)
		ctx := context.Background()
		g, err := c.Group(ctx, group)
		if err != nil || g.Count != int64(n) {
			t.Fatalf("group %+v %v", g, err)
		}
		count := func(field, spec string) (int, error) {
			lines := 0
			err := c.Hdr(ctx, field, spec, func(int64, string) error { lines++; return nil })
			return lines, err
		}
		for _, spec := range []string{"1-", "0-99999999999"} {
			if _, err := count("Injection-Info", spec); nntpCode(err) != 503 {
				t.Fatalf("HDR Injection-Info %s: %v, want 503", spec, err)
			}
		}
		within := rangeSpec(g.Low, g.Low+int64(nntp.DefaultMaxHeaderScan)-1)
		if lines, err := count("Injection-Info", within); err != nil || lines != nntp.DefaultMaxHeaderScan {
			t.Fatalf("HDR Injection-Info %s: %d lines, %v", within, lines, err)
		}
		if lines, err := count("Subject", "1-"); err != nil || lines != n {
			t.Fatalf("HDR Subject 1-: %d lines, %v", lines, err)
		}
	})
}

func rangeSpec(low, high int64) string {
	return strconv.FormatInt(low, 10) + "-" + strconv.FormatInt(high, 10)
}
