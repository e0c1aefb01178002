package tlsconf_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/altcrypt/altcrypt/internal/testcert"
	"github.com/altcrypt/altcrypt/internal/tlsconf"
)

// handshake runs a TLS 1.2 handshake of a client offering suites against
// a server with cfg, and returns the suite agreed or the error.
func handshake(t *testing.T, cfg *tls.Config, client *tls.Config, suites []uint16) (uint16, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Server(a, cfg).Handshake()
	cc := client.Clone()
	cc.MaxVersion = tls.VersionTLS12
	cc.CipherSuites = suites
	c := tls.Client(b, cc)
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	return c.ConnectionState().CipherSuite, nil
}

func TestServerOffersOnlyAEAD(t *testing.T) {
	cert := testcert.New(t)
	cfg := tlsconf.Server(cert.Server)
	var cbc []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if s.ID == tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA || s.ID == tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA ||
			s.ID == tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA || s.ID == tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA {
			cbc = append(cbc, s.ID)
		}
	}
	if _, err := handshake(t, cfg, cert.Client(), cbc); err == nil {
		t.Fatal("a TLS 1.2 client offering only CBC-SHA1 suites got a session")
	}
	got, err := handshake(t, cfg, cert.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tlsconf.AEADSuites {
		if s == got {
			return
		}
	}
	t.Fatalf("agreed %s", tls.CipherSuiteName(got))
}
