package hsub

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// Published vectors: nymphemeral's hsub.py, and one checked with Python hashlib.
func TestVectors(t *testing.T) {
	tests := []struct {
		secret, subject string
		want            bool
	}{
		{"91c5dc4d604c9dee4a4074bbaef4f0fe94d92f406da5aee04d414400dd6d9f42", "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4", true},
		{"false", "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4", false},
		{"foo", "00010203040506071387619220b9139b0e25aa0f3b4ec234", true},
		{"foo", "00010203040506071387619220b9139b0e25aa0f3b4ec23", false},  // 47 digits
		{"foo", "00010203040506071387619220B9139B0E25AA0F3B4EC234", false}, // uppercase
		{"foo", "00010203040506071387619220b9139b0e25aa0f3b4ec235", false}, // last digit off
		{"bar", "00010203040506071387619220b9139b0e25aa0f3b4ec234", false}, // wrong secret
	}
	for _, tt := range tests {
		if got := Match([]byte(tt.secret), tt.subject); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.secret, tt.subject, got, tt.want)
		}
	}
}

func TestComputeFullLength(t *testing.T) {
	iv := [IVSize]byte{0, 1, 2, 3, 4, 5, 6, 7}
	full := Compute([]byte("foo"), iv)
	if len(full) != MaxLen {
		t.Fatalf("len = %d", len(full))
	}
	for l := MinLen; l <= MaxLen; l++ {
		if !Match([]byte("foo"), full[:l]) {
			t.Errorf("truncation to %d does not match", l)
		}
	}
}

func TestNewAndRandom(t *testing.T) {
	rnd := bytes.NewReader(bytes.Repeat([]byte{7}, 64))
	tag, err := New([]byte("secret"), rnd)
	if err != nil || len(tag) != DefaultLen || !Match([]byte("secret"), tag) {
		t.Fatalf("New = %q, %v", tag, err)
	}
	r, err := Random(nil)
	if err != nil || !Shaped(r) {
		t.Fatalf("Random = %q, %v", r, err)
	}
	if _, err := hex.DecodeString(r); err != nil {
		t.Fatal(err)
	}
	m := NewMatcher([]byte("a"), []byte("secret"))
	if got := m.Match(tag); got != 1 {
		t.Fatalf("Matcher.Match = %d", got)
	}
	if got := m.Match(r); got != -1 {
		t.Fatalf("Matcher.Match(random) = %d", got)
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("foo", "00010203040506071387619220b9139b0e25aa0f3b4ec234")
	f.Fuzz(func(t *testing.T, secret, subject string) {
		Match([]byte(secret), subject)
	})
}

func BenchmarkMatch48(b *testing.B) {
	s := []byte("91c5dc4d604c9dee4a4074bbaef4f0fe94d92f406da5aee04d414400dd6d9f42")
	subj := "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4"
	for b.Loop() {
		Match(s, subj)
	}
}
