package mail2news

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/backend"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/nntp/nntpmem"
	"github.com/altcrypt/altcrypt/sqlite"
)

// newsServer is an NNTP server on 127.0.0.1 for the tests: either the real
// injection backend on a sqlite store (what nntpd runs) or the in-memory
// reference backend. It can be stopped and started again on the same
// address, to test what the gateway does while the server is down.
type newsServer struct {
	t       testing.TB
	addr    string
	backend nntp.Backend
	tls     *tls.Config

	mu  sync.Mutex
	srv *nntp.Server
}

// startInjectionServer runs backend.Backend (gate, fresh headers, replay
// refusal, immediate release) on a sqlite store in a temporary directory.
func startInjectionServer(t testing.TB) *newsServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "news.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	be, err := backend.New(ctx, st, backend.Config{Name: "news.test", Policy: armor.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	return startNewsServer(t, be, nil)
}

// startMemServer runs nntpmem with check as its article vetting.
func startMemServer(t testing.TB, mem *nntpmem.Backend, tlsCfg *tls.Config) *newsServer {
	t.Helper()
	return startNewsServer(t, mem, tlsCfg)
}

func startNewsServer(t testing.TB, be nntp.Backend, tlsCfg *tls.Config) *newsServer {
	t.Helper()
	s := &newsServer{t: t, backend: be, tls: tlsCfg}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(s.stop)
	return s
}

func (s *newsServer) serve(l net.Listener) {
	srv := &nntp.Server{Backend: s.backend, Name: "news.test", AllowInsecureAuth: true, TLSConfig: s.tls}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(l)
}

// stop closes the server: connections are refused until start.
func (s *newsServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// start serves again on the same address.
func (s *newsServer) start() {
	s.t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(l)
}

// storedArticle is one article as a reader gets it.
type storedArticle struct {
	Number int64
	Header []byte
	Body   []byte
}

// readGroup fetches every article of group with the nntp client.
func readGroup(t testing.TB, addr, group string) []storedArticle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := nntp.Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, nums, err := c.ListGroup(ctx, group, nil)
	if err != nil {
		t.Fatalf("LISTGROUP %s: %v", group, err)
	}
	var out []storedArticle
	for _, n := range nums {
		_, _, raw, err := c.Article(ctx, fmt.Sprint(n))
		if err != nil {
			t.Fatalf("ARTICLE %d: %v", n, err)
		}
		head, body := splitRaw(raw)
		out = append(out, storedArticle{Number: n, Header: head, Body: body})
	}
	c.Quit(ctx)
	return out
}

func splitRaw(raw []byte) (head, body []byte) {
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := indexOf(raw, sep); i >= 0 {
			return raw[:i+len(sep)/2], raw[i+len(sep):]
		}
	}
	return raw, nil
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// selfSigned makes a certificate for 127.0.0.1 and localhost; it returns
// the server config, a pool trusting it, and the PEM files.
func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	parsed, _ := x509.ParseCertificate(der)
	pool.AddCert(parsed)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, pool, certFile, keyFile
}

// bodyCheck vets nntpmem posts the way injection does: the body must pass
// the armor gate.
func bodyCheck(raw []byte) error {
	_, body := splitRaw(raw)
	if _, err := armor.Check(body, armor.DefaultPolicy()); err != nil {
		var ae *armor.Error
		if errors.As(err, &ae) {
			return &nntp.Error{Code: 441, Msg: ae.Error(), Err: nntp.ErrRejected}
		}
		return err
	}
	return nil
}
