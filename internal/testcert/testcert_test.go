package testcert

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/altcrypt/altcrypt/internal/nntptest"
)

// TestHandshake serves the certificate and the file pair on 127.0.0.1 and
// checks that a client trusting Pool accepts them and one that does not
// refuses.
func TestHandshake(t *testing.T) {
	c := New(t)
	fromFiles, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, server := range map[string]*tls.Config{
		"config": c.Server,
		"files":  {Certificates: []tls.Certificate{fromFiles}},
	} {
		t.Run(name, func(t *testing.T) {
			addr := nntptest.ServeListener(t, tls.NewListener(nntptest.Listen(t), server), func(conn net.Conn) {
				conn.(*tls.Conn).Handshake()
			})
			for _, client := range []*tls.Config{c.Client(), {RootCAs: c.Pool, ServerName: "localhost"}} {
				conn, err := tls.Dial("tcp", addr, client)
				if err != nil {
					t.Fatalf("trusting client (%s): %v", client.ServerName, err)
				}
				conn.Close()
			}
			if conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "127.0.0.1"}); err == nil {
				conn.Close()
				t.Error("client without the pool accepted the certificate")
			}
		})
	}
}
