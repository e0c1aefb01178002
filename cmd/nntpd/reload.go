package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/peers"
)

// reloader re-reads the accounts, peers and certificate files on SIGHUP.
// A file that no longer loads is refused and the old one kept, so a typo
// in a live edit never takes the server down or locks everyone out.
type reloader struct {
	o        *options
	log      *slog.Logger
	accounts *inject.Accounts // nil without --accounts
	peers    *peers.File      // nil without --peers
	cert     *atomic.Pointer[tls.Certificate]
	// feeds restarts the outgoing feeds with a new peer list (the
	// node); nil without --peers.
	feeds interface{ RestartFeeds(*peers.File) error }
}

func (r *reloader) reload() {
	r.log.Info("SIGHUP: reloading the accounts, peers and certificate files")
	if r.accounts != nil {
		if a, err := inject.LoadAccounts(r.o.accounts); err != nil {
			r.log.Error("reload: the accounts file is refused; the old accounts stay in force", "flag", "--accounts", "err", err)
		} else {
			added, removed, changed := r.accounts.Replace(a)
			r.log.Info("reload: accounts", "accounts", a.Len(), "added", len(added), "removed", len(removed), "changed", len(changed))
		}
	}
	if r.peers != nil {
		if f, err := peers.Load(r.o.peers); err != nil {
			r.log.Error("reload: the peers file is refused; the old peers stay in force", "flag", "--peers", "err", err)
		} else {
			added, removed, changed := r.peers.Replace(f)
			r.log.Info("reload: peers", "peers", len(f.Peers), "added", strings.Join(added, ","),
				"removed", strings.Join(removed, ","), "changed", strings.Join(changed, ","))
			if r.feeds != nil && len(added)+len(removed)+len(changed) > 0 {
				if err := r.feeds.RestartFeeds(f); err != nil {
					r.log.Error("reload: cannot restart the outgoing feeds; the old ones keep running", "err", err)
				}
			}
		}
	}
	if r.cert != nil {
		c, err := loadCert(r.o.tlsCert, r.o.tlsKey)
		switch {
		case err != nil:
			r.log.Error("reload: the certificate is refused; the old one stays in force", "err", err)
		case bytes.Equal(c.Certificate[0], r.cert.Load().Certificate[0]):
			r.log.Info("reload: certificate unchanged")
		default:
			r.cert.Store(&c)
			attrs := []any{}
			if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil {
				attrs = append(attrs, "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC().Format("2006-01-02"))
			}
			r.log.Info("reload: new certificate in use for new connections", attrs...)
		}
	}
}
