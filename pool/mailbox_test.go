package pool

import (
	"testing"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/pool/internal/keytest"
	"github.com/altcrypt/altcrypt/pool/seal"
)

// TestLargestFit: the estimate of the armored size never falls short of a
// real message's, so the largest text LargestFit names really fits.
func TestLargestFit(t *testing.T) {
	to := keytest.New(t, false)
	policy := armor.DefaultPolicy()
	policy.MaxBodySize = 1 << 20
	for _, n := range []int{0, 1000, 1017, 4000, 60000, 65500, 200000, 262000} {
		msg, err := seal.Seal(to, make([]byte, n), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := seal.Armor(msg)
		if err != nil {
			t.Fatal(err)
		}
		canon, err := armor.Canonicalize(body, armor.CanonOptions{Policy: policy})
		if err != nil {
			t.Fatal(err)
		}
		est := armoredSize(n)
		if got := len(canon.Body); got > est || est-got > 200 {
			t.Errorf("%d octets: armored %d, estimated %d", n, got, est)
		}
	}
	limit := 256 << 10
	n := LargestFit(limit)
	if armoredSize(n) > limit || armoredSize(n+1) <= limit {
		t.Errorf("LargestFit(%d) = %d", limit, n)
	}
}
