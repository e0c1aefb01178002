// Package tlsconf holds the TLS settings every server of altcrypt offers.
package tlsconf

import "crypto/tls"

// AEADSuites are the TLS 1.2 cipher suites offered: forward-secret key
// exchange and an AEAD cipher only. Go's defaults add CBC suites with
// SHA-1 MACs, which have a history of padding-oracle attacks. (TLS 1.3
// suites are all AEAD and are not configurable.)
var AEADSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Server returns a copy of c for serving: TLS 1.2 at least, and only
// AEADSuites under TLS 1.2 unless c names its own suites.
func Server(c *tls.Config) *tls.Config {
	c = c.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	if c.CipherSuites == nil {
		c.CipherSuites = AEADSuites
	}
	return c
}
