package pool

import (
	"bytes"
	"fmt"
	"io"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/pool/seal"
)

// AnonymousFrom is the From of every article pool writes: the same for
// everyone (a POST needs one; our servers replace it anyway). The domain
// has a dot because INN refuses "nobody@invalid".
const AnonymousFrom = "Anonymous <nobody@anonymous.invalid>"

// Compose encrypts plaintext to contact to and returns the whole article
// (headers and body, CRLF line endings) ready for POST or a mail-to-news
// gateway. The headers are From (fixed), Newsgroups and Subject (an hsub tag
// when the contact has an hsub secret, a random tag of the same shape
// otherwise); nothing names the software, the machine or the time.
// A copy of the message goes to the sent folder (mailbox.go).
func (c *Client) Compose(to string, plaintext []byte, rnd io.Reader) ([]byte, error) {
	return c.ComposeWith(to, plaintext, ComposeOptions{}, rnd)
}

// article armors the binary message msg as a default server's gate would
// and puts the headers every pool article has before it: From (fixed),
// Newsgroups, and Subject (an hsub tag for hsubSecret, or a random tag of
// the same shape when it is nil).
func (c *Client) article(msg, hsubSecret []byte, rnd io.Reader) ([]byte, error) {
	body, err := seal.Armor(msg)
	if err != nil {
		return nil, err
	}
	// Armor exactly as a server's gate would rewrite it, and make sure the
	// gate will take it.
	canon, err := armor.Canonicalize(body, armor.CanonOptions{Policy: armor.DefaultPolicy()})
	if err != nil {
		return nil, fmt.Errorf("pool: the message would be refused by a default server: %w", err)
	}
	var subject string
	if hsubSecret != nil {
		subject, err = hsub.New(hsubSecret, rnd)
	} else {
		subject, err = hsub.Random(rnd)
	}
	if err != nil {
		return nil, err
	}
	var a bytes.Buffer
	a.WriteString("From: " + AnonymousFrom + "\r\n")
	a.WriteString("Newsgroups: " + c.group() + "\r\n")
	a.WriteString("Subject: " + subject + "\r\n")
	a.WriteString("\r\n")
	a.Write(canon.Body)
	return a.Bytes(), nil
}
