package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"os"

	"github.com/altcrypt/altcrypt/pool"
	"github.com/altcrypt/altcrypt/pool/dial"
)

// netFlags are the connection flags shared by the commands that reach a
// server.
type netFlags struct {
	proxy    *string
	insecure *bool
}

func addNetFlags(fs *flag.FlagSet) netFlags {
	return netFlags{
		proxy: fs.String("proxy", "", "connect through the SOCKS5 proxy `URL` (socks5h://HOST:PORT: the proxy resolves names; socks5:// resolves them here) "+
			"(default $"+dial.EnvProxy+" or the proxy setting)"),
		insecure: fs.Bool("insecure", false, "allow plain NNTP to a remote server that offers no TLS"),
	}
}

// apply sets c.Net from the flags, $ALTCRYPT_PROXY and the settings file,
// in that order of precedence.
func (f netFlags) apply(c *pool.Client) error {
	s, err := c.Home.Settings()
	if err != nil {
		return err
	}
	p := *f.proxy
	if p == "" {
		p = os.Getenv(dial.EnvProxy)
	}
	if p == "" {
		p = s.Proxy
	}
	c.Net.RequireProxy = s.RequireProxy
	c.Net.Insecure = *f.insecure || s.Insecure
	if p != "" {
		if c.Net.Proxy, err = dial.ParseProxy(p); err != nil {
			return err
		}
	}
	if s.TLSCA != "" {
		pem, err := os.ReadFile(s.TLSCA)
		if err != nil {
			return fmt.Errorf("pool: tls-ca setting: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("pool: tls-ca setting: no PEM certificate in %s", s.TLSCA)
		}
		c.Net.RootCAs = pool
	}
	return nil
}
