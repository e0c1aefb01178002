package node_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/seal"
)

// post is a newsreader's article carrying a fresh ciphertext.
func post(t *testing.T, subject string) []byte {
	t.Helper()
	to, err := openpgp.NewEntity("reader", "", "", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := seal.Seal(to, []byte("a message for the node test\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	armored, err := seal.Armor(msg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Alice <alice@home.example>\r\nNewsgroups: alt.crypt.messages\r\nSubject: %s\r\n\r\n", subject)
	b.Write(bytes.ReplaceAll(bytes.ReplaceAll(armored, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")))
	return b.Bytes()
}

// readAll waits until the group holds want articles and returns their
// bodies.
func readAll(t *testing.T, c *nntp.Client, want int) [][]byte {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, nums, err := c.ListGroup(ctx, "alt.crypt.messages", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(nums) >= want {
			var out [][]byte
			for _, num := range nums {
				_, _, body, err := c.Body(ctx, fmt.Sprint(num))
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, body)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d articles, want %d", len(nums), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
