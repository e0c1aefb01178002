package inject

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/seal"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/sqlite"
)

// rawPacket is one packet of a canonical stream: its tag and body.
type rawPacket struct {
	tag  byte
	body []byte
}

// splitCanonical decodes a canonical armor (new-format headers, definite
// lengths, as Canonicalize writes) into its packets.
func splitCanonical(t *testing.T, body []byte) []rawPacket {
	t.Helper()
	var b64 strings.Builder
	for _, l := range strings.Split(string(body), "\r\n") {
		if l == "" || strings.HasPrefix(l, "-----") || strings.HasPrefix(l, "=") {
			continue
		}
		b64.WriteString(l)
	}
	raw, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil {
		t.Fatal(err)
	}
	var out []rawPacket
	for len(raw) > 0 {
		tag := raw[0] & 0x3f
		var n, hl int
		switch o := raw[1]; {
		case o < 192:
			n, hl = int(o), 2
		case o < 224:
			n, hl = (int(o)-192)<<8+int(raw[2])+192, 3
		default:
			n, hl = int(raw[2])<<24|int(raw[3])<<16|int(raw[4])<<8|int(raw[5]), 6
		}
		out = append(out, rawPacket{tag, raw[hl : hl+n]})
		raw = raw[hl+n:]
	}
	return out
}

// Header writers in every framing RFC 9580 §4.2 lets a sender choose.
func legacyHeader(tag byte, n, octets int) []byte {
	h := []byte{0x80 | tag<<2}
	switch octets {
	case 1:
		return append(h, byte(n))
	case 2:
		h[0] |= 1
		return append(h, byte(n>>8), byte(n))
	}
	h[0] |= 2
	return append(h, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func newHeader5(tag byte, n int) []byte {
	return []byte{0xC0 | tag, 0xFF, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// partialBody writes a body in partial chunks of 512 octets, the last one
// definite.
func partialBody(tag byte, body []byte) []byte {
	out := []byte{0xC0 | tag}
	for len(body) > 512 {
		out = append(out, 0xE0|9) // 2^9 = 512
		out = append(out, body[:512]...)
		body = body[512:]
	}
	return append(append(out, newHeader5(0, len(body))[1:]...), body...)
}

// twoOctet is the two-octet new-format length of n (192 to 8383).
func twoOctet(n int) []byte {
	n -= 192
	return []byte{byte(n>>8) + 192, byte(n)}
}

func armored(raw []byte, width int, headers ...string) []byte {
	b64 := base64.StdEncoding.EncodeToString(raw)
	var s strings.Builder
	s.WriteString("-----BEGIN PGP MESSAGE-----\r\n")
	for _, h := range headers {
		s.WriteString(h + "\r\n")
	}
	s.WriteString("\r\n")
	for len(b64) > 0 {
		n := min(width, len(b64))
		s.WriteString(b64[:n] + "\r\n")
		b64 = b64[n:]
	}
	s.WriteString("-----END PGP MESSAGE-----\r\n")
	return []byte(s.String())
}

// TestReplayRefusesReframed (issue 14, finding 3): the same packets in
// another framing, or with a Marker packet added, are the same
// ciphertext and are refused as a replay, each variation on its own.
func TestReplayRefusesReframed(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	// Long enough for the data packet to need partial chunks.
	msg := gpg.EncryptText(t, strings.Repeat("the same words again and again\n", 100), "-z", "0")
	b, _ := newBackend(t, openStore(t), nil)
	ctx := context.Background()
	if err := session(t, b).Post(ctx, posted("alt.crypt.messages", "x", msg)); err != nil {
		t.Fatal(err)
	}
	canon, err := armor.Canonicalize(gpgtest.CRLF(msg), armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true})
	if err != nil {
		t.Fatal(err)
	}
	ps := splitCanonical(t, canon.Body)
	if len(ps) != 2 || ps[1].tag != 18 || len(ps[1].body) < 1024 {
		t.Fatalf("unexpected packets: %d", len(ps))
	}
	esk, data := ps[0], ps[1]
	marker := []byte{0xCA, 3, 'P', 'G', 'P'}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	variants := []struct {
		name string
		raw  []byte
	}{
		// Legacy headers carry tags up to 15 only: the PKESK's can vary.
		{"legacy-1-octet-esk", cat(legacyHeader(esk.tag, len(esk.body), 1), esk.body, newHeader5(18, len(data.body)), data.body)},
		{"legacy-2-octet-esk", cat(legacyHeader(esk.tag, len(esk.body), 2), esk.body, newHeader5(18, len(data.body))[:0], []byte{0xC0 | 18}, twoOctet(len(data.body)), data.body)},
		{"new-format-5-octet-lengths", cat(newHeader5(esk.tag, len(esk.body)), esk.body, newHeader5(18, len(data.body)), data.body)},
		{"partial-lengths", cat(newHeader5(esk.tag, len(esk.body)), esk.body, partialBody(18, data.body))},
		{"marker-added", cat(marker, []byte{0xC0 | esk.tag, byte(len(esk.body))}, esk.body, newHeader5(18, len(data.body)), data.body)},
		{"marker-legacy-partial-and-armor-headers", cat(legacyHeader(10, 3, 1), []byte("PGP"), legacyHeader(esk.tag, len(esk.body), 4), esk.body, partialBody(18, data.body))},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			body := armored(v.raw, 76, "Version: other 1.0")
			if _, err := armor.Canonicalize(body, armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true}); err != nil {
				t.Fatalf("the variation is not a valid message: %v", err)
			}
			err := session(t, b).Post(ctx, []byte("Newsgroups: alt.crypt.messages\r\nSubject: y\r\n\r\n"+string(body)))
			if code, msg := errCode(t, err); code != 441 || !strings.HasPrefix(msg, CodeReplay+":") {
				t.Fatalf("want 441 %s, got %v", CodeReplay, err)
			}
		})
	}
	if got, _ := b.st.PendingArticles(ctx, 10); len(got) != 1 {
		t.Fatalf("%d pending, want 1", len(got))
	}
}

// TestReplayAndStampsKeepNoOrder: the replay table and the spent stamps
// hold keyed hashes (neither the body's nor the stamp's bare hash) and
// the day only.
func TestReplayAndStampsKeepNoOrder(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	path := filepath.Join(t.TempDir(), "news.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, clk := newBackend(t, st, withHashcash)
	ctx := context.Background()
	var stamps []string
	for i := range 3 {
		clk.Add(time.Duration(i)*time.Minute + 1234567*time.Microsecond)
		stamp := mint(t, "news.example", testBits, clk.Now())
		stamps = append(stamps, stamp)
		if err := session(t, b).Post(ctx, stamped(posted("alt.crypt.messages", "x", gpg.EncryptText(t, fmt.Sprint(i))), stamp)); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	day := store.Day(clk.Now()).UnixMicro()
	for _, table := range []string{"replay", "hashcash"} {
		rows, err := db.Query(`SELECT at FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var at int64
			rows.Scan(&at)
			if at != day {
				t.Errorf("%s keeps %d, want the day %d", table, at, day)
			}
			n++
		}
		rows.Close()
		if want := map[string]int{"replay": 3, "hashcash": 6}[table]; n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	var all []byte
	rows, _ := db.Query(`SELECT stamp FROM hashcash`)
	for rows.Next() {
		var s string
		rows.Scan(&s)
		all = append(all, s...)
	}
	rows.Close()
	for _, s := range stamps {
		rnd := s[strings.LastIndex(s[:strings.LastIndex(s, ":")], ":")+1:]
		if bytes.Contains(all, []byte(s)) || bytes.Contains(all, []byte(rnd)) {
			t.Errorf("stamp %q kept as it came", s)
		}
	}
}

// TestReleaseShufflesWholeSet: with more pending posts than one
// transaction takes, the first numbers are not the oldest posts.
func TestReleaseShufflesWholeSet(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, openStore(t), func(c *Config) { c.ReleaseBatch = 10 })
	s := session(t, b)
	ctx := context.Background()
	const n = 40
	for i := range n {
		if err := s.Post(ctx, posted("alt.crypt.messages", "x", gpg.EncryptText(t, fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	pending, _ := b.st.PendingArticles(ctx, n)
	rank := map[string]int{}
	for i, p := range pending {
		rank[p.MessageID] = i
	}
	if got, err := b.Release(ctx); err != nil || got != n {
		t.Fatalf("Release = %d, %v", got, err)
	}
	oldest := 0
	s.Overview(ctx, "alt.crypt.messages", nntp.Range{Low: 1, High: 10}, func(o *nntp.Overview) error {
		if rank[o.MessageID] < 10 {
			oldest++
		}
		return nil
	})
	// Oldest first in chunks gives 10; a shuffle of the whole set gives
	// 2.5 on average, and 10 with a chance of 1 in 847,660,528.
	if oldest == 10 {
		t.Fatal("the first chunk released is the ten oldest posts")
	}
}

// TestReleaseMinBatch: posts wait until MinBatch are pending, or until the
// oldest has waited MaxWait.
func TestReleaseMinBatch(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, clk := newBackend(t, openStore(t), func(c *Config) { c.MinBatch = 3; c.MaxWait = 10 * time.Minute })
	s := session(t, b)
	ctx := context.Background()
	post := func(i int) {
		if err := s.Post(ctx, posted("alt.crypt.messages", "x", gpg.EncryptText(t, fmt.Sprint("batch ", i)))); err != nil {
			t.Fatal(err)
		}
	}
	post(1)
	post(2)
	if n, err := b.Release(ctx); n != 0 || err != nil {
		t.Fatalf("two of three released: %d, %v", n, err)
	}
	post(3)
	if n, err := b.Release(ctx); n != 3 || err != nil {
		t.Fatalf("three pending: released %d, %v", n, err)
	}
	post(4)
	clk.Add(9 * time.Minute)
	if n, _ := b.Release(ctx); n != 0 {
		t.Fatalf("released a lone post after 9 minutes")
	}
	clk.Add(time.Minute)
	if n, err := b.Release(ctx); n != 1 || err != nil {
		t.Fatalf("after the maximum wait: released %d, %v", n, err)
	}
	// With ReleaseInterval 0 nothing is held.
	b0, _ := newBackend(t, openStore(t), func(c *Config) { c.ReleaseInterval = 0; c.MinBatch = 3; c.MaxWait = time.Hour })
	if err := session(t, b0).Post(ctx, posted("alt.crypt.messages", "x", gpg.EncryptText(t, "alone"))); err != nil {
		t.Fatal(err)
	}
	if g, _ := b0.st.Group(ctx, "alt.crypt.messages"); g.Count != 1 {
		t.Fatalf("interval 0 held a post: %+v", g)
	}
}

// doubleESK returns the canonical body with its first session key packet
// twice: a message to two (hidden) recipients.
func doubleESK(t *testing.T, body []byte) []byte {
	t.Helper()
	canon, err := armor.Canonicalize(gpgtest.CRLF(body), armor.CanonOptions{Policy: armor.DefaultPolicy(), Anonymize: true})
	if err != nil {
		t.Fatal(err)
	}
	ps := splitCanonical(t, canon.Body)
	esk := append([]byte{0xC0 | ps[0].tag, byte(len(ps[0].body))}, ps[0].body...)
	return armored(bytes.Join([][]byte{esk, esk, newHeader5(18, len(ps[1].body)), ps[1].body}, nil), 64)
}

// TestInjectOneRecipient: a post with several session key packets is
// refused with a reason that says why, unless MaxInjectESKs allows it.
func TestInjectOneRecipient(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	two := doubleESK(t, gpg.EncryptText(t, "to two"))
	ctx := context.Background()
	b, _ := newBackend(t, openStore(t), nil)
	err := session(t, b).Post(ctx, []byte("Newsgroups: alt.crypt.messages\r\nSubject: x\r\n\r\n"+string(two)))
	code, msg := errCode(t, err)
	if code != 441 || !strings.HasPrefix(msg, CodeSeveralRecipients+":") || !strings.Contains(msg, "link their keys") {
		t.Fatalf("two ESKs: %d %q", code, msg)
	}
	b2, _ := newBackend(t, openStore(t), func(c *Config) { c.MaxInjectESKs = 2 })
	if err := session(t, b2).Post(ctx, []byte("Newsgroups: alt.crypt.messages\r\nSubject: x\r\n\r\n"+string(two))); err != nil {
		t.Fatalf("MaxInjectESKs 2: %v", err)
	}
}

// TestSubjectTags: a kept tag is cut to 48 digits; a tag seen before
// within the history window (on its first 48 digits) is replaced by a
// random one.
func TestSubjectTags(t *testing.T) {
	gpg := gpgtest.NewKey(t)
	b, _ := newBackend(t, openStore(t), func(c *Config) { c.ReleaseInterval = 0 })
	ctx := context.Background()
	tag64 := strings.Repeat("0123456789abcdef", 4)
	other := strings.Repeat("fedcba9876543210", 3)
	subjects := []string{tag64, tag64, tag64[:48], other}
	for i, subj := range subjects {
		if err := session(t, b).Post(ctx, posted("alt.crypt.messages", subj, gpg.EncryptText(t, fmt.Sprint("tag ", i)))); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	session(t, b).Overview(ctx, "alt.crypt.messages", nntp.Range{Low: 1, High: -1}, func(o *nntp.Overview) error {
		got = append(got, o.Subject)
		return nil
	})
	if len(got) != 4 {
		t.Fatalf("%d articles", len(got))
	}
	want := []string{tag64[:48], "random", "random", other}
	for i, s := range got {
		if len(s) != 48 {
			t.Errorf("article %d: subject %q is not 48 digits", i+1, s)
		}
		if want[i] == "random" {
			if s == tag64[:48] {
				t.Errorf("article %d: the repeated tag was kept", i+1)
			}
		} else if s != want[i] {
			t.Errorf("article %d: subject %q, want %q", i+1, s, want[i])
		}
	}
}

// framingOf lists, for each packet of a canonical body, its header octet
// and how many octets its length takes.
func framingOf(t *testing.T, body []byte) string {
	t.Helper()
	var out []string
	for _, p := range splitCanonical(t, body) {
		n := 1
		switch l := len(p.body); {
		case l >= 8384:
			n = 5
		case l >= 192:
			n = 2
		}
		out = append(out, fmt.Sprintf("%02x/%d", 0xC0|p.tag, n))
	}
	return strings.Join(out, " ")
}

// TestGPGAndPoolLookAlike (issue 13): a gpg-made and a pool-made article
// to the same Curve25519 key are framed alike after injection, although
// gpg writes a legacy PKESK header and pool a new-format one; both still
// decrypt with gpg (DECRYPTION_OKAY) and go-crypto.
func TestGPGAndPoolLookAlike(t *testing.T) {
	k := gpgtest.NewKey(t)
	pub, err := k.ExportPublic(false, k.Email)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := openpgp.ReadKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	// About 900 octets: gpg's data packet then needs a two-octet length,
	// as pool's padded 1 KiB bucket does. Framing is then a function of
	// the packet sizes alone (sizes are the Size leak class: pool pads).
	plain := bytes.Repeat([]byte("the same words from two programs\n"), 28)
	gpgMsg := k.Encrypt(t, plain, k.Email, gpgtest.Hidden, "-z", "0")
	sealed, err := seal.Seal(ents[0], plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	poolMsg, err := seal.Armor(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if g, p := packetsOf(t, gpgMsg)[0], packetsOf(t, poolMsg)[0]; g>>6 == p>>6 {
		t.Fatalf("before injection the first headers are %02x and %02x: the test shows nothing", g, p)
	}
	b, _ := newBackend(t, openStore(t), func(c *Config) { c.ReleaseInterval = 0 })
	ctx := context.Background()
	s := session(t, b)
	for _, m := range [][]byte{gpgMsg, poolMsg} {
		if err := s.Post(ctx, posted("alt.crypt.messages", "x", m)); err != nil {
			t.Fatal(err)
		}
	}
	var framings []string
	for n := int64(1); n <= 2; n++ {
		a, err := b.st.Article(ctx, "alt.crypt.messages", n)
		if err != nil {
			t.Fatal(err)
		}
		framings = append(framings, framingOf(t, a.Body))
		r := k.Decrypt(a.Body)
		if !r.OK("DECRYPTION_OKAY") || !bytes.Equal(r.Stdout, plain) {
			t.Fatalf("gpg did not decrypt article %d:\n%s", n, r.Status)
		}
		sec, err := k.ExportSecret(false)
		if err != nil {
			t.Fatal(err)
		}
		keyring, err := openpgp.ReadKeyRing(bytes.NewReader(sec))
		if err != nil {
			t.Fatal(err)
		}
		md, err := openpgp.ReadMessage(bytes.NewReader(rawOf(t, a.Body)), keyring, nil, nil)
		if err != nil {
			t.Fatalf("go-crypto, article %d: %v", n, err)
		}
		got, err := io.ReadAll(md.UnverifiedBody)
		if err != nil || !bytes.Contains(got, plain) {
			t.Fatalf("go-crypto plaintext of article %d: %q %v", n, got, err)
		}
	}
	t.Logf("framing after injection: gpg %s, pool %s", framings[0], framings[1])
	if framings[0] != framings[1] {
		t.Fatalf("framing tells the programs apart: %s / %s", framings[0], framings[1])
	}
}

// rawOf decodes a canonical armor to its packets.
func rawOf(t *testing.T, body []byte) []byte {
	t.Helper()
	var b64 strings.Builder
	for _, l := range strings.Split(string(gpgtest.CRLF(body)), "\r\n") {
		if l != "" && !strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "=") && !strings.Contains(l, ":") {
			b64.WriteString(l)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func packetsOf(t *testing.T, body []byte) []byte { return rawOf(t, body) }
