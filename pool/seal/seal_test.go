package seal_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/pool/internal/keytest"
	"github.com/altcrypt/altcrypt/pool/seal"
)

func TestBucket(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 1024}, {1022, 1024}, {1023, 4096}, {1024, 1024}, {1025, 4096},
		{4096, 4096}, {4097, 16384}, {16384, 16384}, {16385, 65536},
		{65536, 65536}, {65537, 131072}, {131071, 196608}, {300000, 327680},
	} {
		if got := seal.Bucket(c.n); got != c.want {
			t.Errorf("Bucket(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// walk checks that content is a literal packet then Padding packets only.
func walk(t *testing.T, content []byte, plaintext []byte) {
	t.Helper()
	r := packet.NewOpaqueReader(bytes.NewReader(content))
	first := true
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("len %d: %v", len(plaintext), err)
		}
		if first {
			if p.Tag != 11 || !bytes.Equal(p.Contents[6:], plaintext) || !bytes.Equal(p.Contents[:6], []byte{'b', 0, 0, 0, 0, 0}) {
				t.Fatalf("len %d: bad literal packet", len(plaintext))
			}
			first = false
			continue
		}
		if p.Tag != 21 {
			t.Fatalf("len %d: packet tag %d after the literal", len(plaintext), p.Tag)
		}
	}
}

func TestContentFillsBucket(t *testing.T) {
	sizes := []int{0, 1, 100, 1000, 1010, 1016, 1017, 1018, 4000, 8300, 8370, 8380, 16300, 70000}
	// Every gap size around the header-size boundaries (192, 8384).
	for n := 4096 - 8 - 8390; n < 4096; n += 1 {
		if n >= 0 && (4096-n < 200 || (4096-n > 8370 && 4096-n < 8400)) {
			sizes = append(sizes, n)
		}
	}
	for n := 16384 - 8400; n < 16384-8370; n++ {
		sizes = append(sizes, n)
	}
	for n := 1024 - 200; n <= 1024; n++ {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		pt := bytes.Repeat([]byte{'x'}, n)
		c, err := seal.Content(pt, nil)
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if len(c) != seal.Bucket(len(c)) {
			t.Fatalf("len %d: content %d octets is not a bucket size", n, len(c))
		}
		walk(t, c, pt)
	}
}

func TestSameBucketSameLength(t *testing.T) {
	e := keytest.New(t, false)
	lengths := map[int]int{}
	for _, n := range []int{1100, 2000, 3000, 4000, 4070, 4080} {
		msg, err := seal.Seal(e, bytes.Repeat([]byte{'a'}, n), nil)
		if err != nil {
			t.Fatal(err)
		}
		lengths[len(msg)]++
	}
	if len(lengths) != 1 {
		t.Fatalf("messages in one bucket have lengths %v", lengths)
	}
}

func TestGoCryptoDecrypts(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		e := keytest.New(t, v6)
		pt := []byte("hello, pool\n")
		msg, err := seal.Seal(e, pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		md, err := openpgp.ReadMessage(bytes.NewReader(msg), openpgp.EntityList{e}, nil, nil)
		if err != nil {
			t.Fatalf("v6=%v: %v", v6, err)
		}
		got, err := io.ReadAll(md.UnverifiedBody)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("v6=%v: got %q, %v", v6, got, err)
		}
		if md.LiteralData.FileName != "" || md.LiteralData.Time != 0 {
			t.Fatalf("literal names %q / date %d", md.LiteralData.FileName, md.LiteralData.Time)
		}
		// Flip one octet of the MDC: the integrity check must catch it.
		bad := append([]byte(nil), msg...)
		bad[len(bad)-3] ^= 1
		md, err = openpgp.ReadMessage(bytes.NewReader(bad), openpgp.EntityList{e}, nil, nil)
		if err == nil {
			_, err = io.ReadAll(md.UnverifiedBody)
		}
		if err == nil {
			t.Fatalf("v6=%v: tampered message decrypted without error", v6)
		}
	}
}

func TestHiddenRecipient(t *testing.T) {
	e := keytest.New(t, false)
	msg, err := seal.Seal(e, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	ek, ok := p.(*packet.EncryptedKey)
	if !ok || ek.KeyId != 0 || ek.Version != 3 {
		t.Fatalf("first packet %T %+v, want an anonymous v3 PKESK", p, p)
	}
	arm, err := seal.Armor(msg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(arm)), "\n")
	if lines[0] != "-----BEGIN PGP MESSAGE-----" || lines[1] != "" || lines[len(lines)-1] != "-----END PGP MESSAGE-----" {
		t.Fatalf("armor framing:\n%s", arm)
	}
	for _, l := range lines[2 : len(lines)-2] {
		if len(l) != 64 && l != lines[len(lines)-3] {
			t.Fatalf("armor line of %d columns", len(l))
		}
	}
}

// TestGPGDecrypts is the interoperability promise: gpg 2.2 reads what pool
// sends, padding included, silently, and finds it is the anonymous recipient.
func TestGPGDecrypts(t *testing.T) {
	e := keytest.New(t, false)
	g := gpgtest.New(t)
	g.Must(t, keytest.Armored(t, e, true), "--import")
	for _, n := range []int{0, 5, 1000, 1017, 4096 - 8 - 194 - 3, 20000} {
		pt := bytes.Repeat([]byte("pool "), n/5+1)[:n]
		msg, err := seal.Seal(e, pt, nil)
		if err != nil {
			t.Fatal(err)
		}
		arm, err := seal.Armor(msg)
		if err != nil {
			t.Fatal(err)
		}
		r := g.Run(arm, "--decrypt")
		if !r.OK("DECRYPTION_OKAY") || !r.OK("GOODMDC") {
			t.Fatalf("len %d: gpg did not decrypt: %v\n%s\n%s", n, r.Err, r.Stderr, r.Status)
		}
		if !bytes.Equal(r.Stdout, pt) {
			t.Fatalf("len %d: gpg printed %d octets, want %d", n, len(r.Stdout), len(pt))
		}
		if strings.Contains(strings.ToLower(r.Stderr), "warning") {
			t.Fatalf("len %d: gpg warned:\n%s", n, r.Stderr)
		}
	}
}
