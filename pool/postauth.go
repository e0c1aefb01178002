package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/hashcash"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool/dial"
)

// PostOptions are what some servers ask of a poster.
type PostOptions struct {
	// User and Password log in with AUTHINFO USER/PASS before posting.
	User, Password string
	// HashcashBits, when set, adds an X-Hashcash stamp of that many bits
	// for HashcashResource (default: the server's host name). Without it a
	// stamp is minted only when the server's 441 asks for one, and the
	// post is tried once more.
	HashcashBits     int
	HashcashResource string
}

// hashcashAsk reads the bits and resource out of the server's refusal
// "hashcash-missing: this server asks for an X-Hashcash stamp (version 1)
// of 20 bits for resource news.example".
var hashcashAsk = regexp.MustCompile(`of (\d+) bits for resource (\S+)`)

// PostWith is Post with a login and hashcash.
func (c *Client) PostWith(ctx context.Context, server string, article []byte, opt PostOptions) error {
	cl, post, err := c.dialReader(ctx, server, dial.Isolation(dial.Send), nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	if opt.User != "" {
		if err := cl.AuthInfo(ctx, opt.User, opt.Password); err != nil {
			return serverError(server, "log in to", err)
		}
		post = true // the greeting spoke for anonymous users
	}
	if !post {
		return fmt.Errorf("pool: %s does not allow posting without a login (--user)", server)
	}
	if opt.HashcashBits > 0 {
		res := opt.HashcashResource
		if res == "" {
			res = hostOf(server)
		}
		if article, err = withStamp(article, res, opt.HashcashBits); err != nil {
			return err
		}
	}
	err = cl.Post(ctx, article)
	var ne *nntp.Error
	if opt.HashcashBits == 0 && errors.As(err, &ne) && ne.Code == 441 && strings.HasPrefix(ne.Msg, hashcash.ReasonMissing+":") {
		if m := hashcashAsk.FindStringSubmatch(ne.Msg); m != nil {
			bits, _ := strconv.Atoi(m[1])
			c.progressf("pool: %s asks for a hashcash stamp of %d bits; minting one", server, bits)
			if article, err = withStamp(article, m[2], bits); err != nil {
				return err
			}
			err = cl.Post(ctx, article)
		}
	}
	if err != nil {
		return serverError(server, "post to", err)
	}
	_ = cl.Quit(ctx)
	return nil
}

func hostOf(server string) string {
	if i := strings.LastIndexByte(server, ':'); i > 0 {
		return strings.Trim(server[:i], "[]")
	}
	return server
}

// maxMintBits bounds the work pool does for a stamp: 2^28 hashes take
// about a minute on one core.
const maxMintBits = 28

// withStamp puts an X-Hashcash header with a fresh stamp first in article.
func withStamp(article []byte, resource string, bits int) ([]byte, error) {
	if bits > maxMintBits {
		return nil, fmt.Errorf("pool: a hashcash stamp of %d bits is asked for; pool mints at most %d (each bit doubles the work)", bits, maxMintBits)
	}
	stamp, err := hashcash.Mint(resource, bits, time.Now())
	if err != nil {
		return nil, fmt.Errorf("pool: minting a hashcash stamp: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("X-Hashcash: " + stamp + "\r\n")
	b.Write(article)
	return b.Bytes(), nil
}
