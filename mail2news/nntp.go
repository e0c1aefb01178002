package mail2news

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/altcrypt/altcrypt/nntp"
)

// NNTPPoster posts over one fresh NNTP connection per article: connect,
// STARTTLS when configured, AUTHINFO when configured, POST, QUIT. A mail
// gateway posts rarely; a connection per post keeps failure handling
// simple (nothing stale to reuse).
type NNTPPoster struct {
	Addr           string // host:port
	User, Password string // AUTHINFO USER/PASS when User is set
	// TLS, when set, is used for STARTTLS before anything else; a server
	// without STARTTLS then defers every mail (the credentials and the
	// ciphertext never travel in clear by mistake).
	TLS *tls.Config
	// Timeout bounds each step (default 60 s); the context bounds the
	// whole post.
	Timeout time.Duration
}

// Post implements Poster. Errors come back as the nntp package gives them
// (*nntp.Error for a server's answer, network errors otherwise);
// Gateway.Deliver classifies them.
func (p *NNTPPoster) Post(ctx context.Context, article []byte) error {
	opts := &nntp.ClientOptions{DialTimeout: p.Timeout, Timeout: p.Timeout}
	c, err := nntp.Dial(ctx, p.Addr, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	if p.TLS != nil {
		cfg := p.TLS.Clone()
		if cfg.ServerName == "" {
			if host, _, err := net.SplitHostPort(p.Addr); err == nil {
				cfg.ServerName = host
			}
		}
		if err := c.StartTLS(ctx, cfg); err != nil {
			return err
		}
	}
	if p.User != "" {
		if err := c.AuthInfo(ctx, p.User, p.Password); err != nil {
			return err
		}
	}
	if err := c.Post(ctx, article); err != nil {
		return err
	}
	// The article is posted once the server said 240; a failed QUIT
	// changes nothing.
	_ = c.Quit(ctx)
	return nil
}
