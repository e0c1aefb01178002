// Package pool is the user's side of alt.crypt.messages: send a message so
// that only the recipient's key can tell whom it is for (seal), download the
// whole group into a local store (spool), and find what is yours in it
// (hsub tags first, then fast trial decryption). cmd/pool is a thin command
// line over this package.
package pool

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/altcrypt/altcrypt/pool/dial"
	"github.com/altcrypt/altcrypt/pool/home"
)

// DefaultGroup is the group the pool lives in.
const DefaultGroup = "alt.crypt.messages"

// Client does the work of the pool commands for one pool directory.
type Client struct {
	Home  *home.Home
	Group string // DefaultGroup when empty
	// Progress receives progress lines for long syncs and scans (os.Stderr
	// in the command; nil for none).
	Progress io.Writer
	// ProgressEvery is the interval between progress lines (2 s when zero).
	ProgressEvery time.Duration
	// Net says how to reach servers: proxy, TLS, what to refuse. The zero
	// value connects directly, with TLS when offered, and refuses plain
	// NNTP to a remote host.
	Net dial.Config
}

// New opens the pool directory dir (home.DefaultDir() when empty).
func New(dir string) (*Client, error) {
	if dir == "" {
		d, err := home.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	h, err := home.Open(dir)
	if err != nil {
		return nil, err
	}
	return &Client{Home: h, Progress: os.Stderr}, nil
}

func (c *Client) group() string {
	if c.Group == "" {
		return DefaultGroup
	}
	return c.Group
}

func (c *Client) every() time.Duration {
	if c.ProgressEvery <= 0 {
		return 2 * time.Second
	}
	return c.ProgressEvery
}

func (c *Client) progressf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}
