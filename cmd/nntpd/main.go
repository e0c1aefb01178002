// Command nntpd serves alt.crypt.messages to newsreaders: reading from a
// store (the embedded SQLite by default, or PostgreSQL), and injecting
// posts through the ciphertext gate with fresh headers and batch release.
//
//	go run ./cmd/nntpd      # 127.0.0.1:1119, sqlite:altcrypt.db
//
// Every flag may also be given as ALTCRYPT_<FLAG> in the environment.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/backend"
	"github.com/altcrypt/altcrypt/feed"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/postgres"
	"github.com/altcrypt/altcrypt/sqlite"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
)

// shutdownGrace is how long connections get to finish their command.
const shutdownGrace = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// run starts the server and serves until ctx ends; it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	o, err := parseOptions(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "nntpd:", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintln(stderr, "nntpd: --log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, o, log); err != nil {
		log.Error("nntpd stopped", "err", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, o *options, log *slog.Logger) error {
	st, kind, err := openStore(ctx, o.db)
	if err != nil {
		return err
	}
	defer st.Close()

	var accounts *backend.Accounts
	if o.accounts != "" {
		if accounts, err = backend.LoadAccounts(o.accounts); err != nil {
			return err
		}
	}
	policy := armor.DefaultPolicy()
	policy.MaxBodySize = o.maxArticleSize

	// Peering (optional): a transit receiver for peers that feed us and
	// feed senders for the peers we feed.
	var (
		peerFile *peers.File
		receiver *transit.Receiver
		feeder   *feed.Manager
	)
	if o.peers != "" {
		if peerFile, err = peers.Load(o.peers); err != nil {
			return err
		}
		receiver, err = transit.New(transit.Config{
			Store: st, PathName: o.name, Peers: peerFile, Armor: &policy,
			HistoryWindow: o.historyRetention, Retention: o.retention, Logger: log,
		})
		if err != nil {
			return err
		}
		defer receiver.Close()
		if feeder, err = feed.New(feed.Config{Store: st, Peers: peerFile.Peers, PathName: o.name, Logger: log}); err != nil {
			return err
		}
	}
	var transitFeeder nntp.Feeder
	if receiver != nil {
		transitFeeder = receiver
	}
	be, err := backend.New(ctx, st, backend.Config{
		Name:              o.name,
		Domain:            o.domain,
		From:              o.from,
		Groups:            o.groupList(),
		ReleaseInterval:   o.releaseInterval,
		Retention:         o.retention,
		HistoryRetention:  o.historyRetention,
		Policy:            policy,
		Accounts:          accounts,
		RequireAuthToPost: o.requireAuthToPost,
		MailComplaintsTo:  o.complaintsTo,
		Peers:             peerFile,
		Transit:           transitFeeder,
		Hashcash:          o.hashcash(),
		Logger:            log,
	})
	if err != nil {
		return err
	}

	srv := &nntp.Server{
		Backend:             be,
		Name:                o.name,
		Logger:              log,
		AllowInsecureAuth:   o.allowInsecureAuth,
		MaxArticleSize:      o.maxArticleSize + 64<<10, // room for the poster's headers
		IdleTimeout:         o.idleTimeout,
		MaxConnections:      o.maxConnections,
		MaxConnectionsPerIP: o.maxConnectionsIP,
		LogAddresses:        o.logAddresses,
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	errc := make(chan error, 3)
	listeners := 0
	listen := func(addr string, tlsOn bool) error {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		listeners++
		log.Info("listening", "addr", l.Addr().String(), "tls", tlsOn)
		go func() {
			if tlsOn {
				errc <- srv.ServeTLS(l)
			} else {
				errc <- srv.Serve(l)
			}
		}()
		return nil
	}
	if o.listen != "" {
		if err := listen(o.listen, false); err != nil {
			return err
		}
	}
	if o.tlsListen != "" {
		if err := listen(o.tlsListen, true); err != nil {
			srv.Close()
			return err
		}
	}

	runCtx, stopRun := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		if feeder == nil {
			be.Run(runCtx)
			return
		}
		feedDone := make(chan struct{})
		go func() { feeder.Run(runCtx); close(feedDone) }()
		be.Run(runCtx)
		<-feedDone
	}()
	npeers := 0
	if peerFile != nil {
		npeers = len(peerFile.Peers)
	}
	log.Info("serving", "name", o.name, "store", kind, "groups", strings.Join(o.groupList(), ","),
		"release_interval", o.releaseInterval.String(), "peers", npeers, "hashcash_bits", o.hashcashBits)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	// Posts answered 240 are durable already; stop the loops last so a
	// release in progress finishes.
	stopRun()
	<-runDone
	if serveErr != nil && !errors.Is(serveErr, nntp.ErrServerClosed) {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

// openStore opens the store a --db value names.
func openStore(ctx context.Context, db string) (store.Store, string, error) {
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, "", fmt.Errorf("opening PostgreSQL: %w", err)
		}
		return st, "postgres", nil
	case strings.HasPrefix(db, "sqlite:"):
		path := strings.TrimPrefix(db, "sqlite:")
		if path == "" {
			return nil, "", errors.New("--db sqlite: needs a path")
		}
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, "", fmt.Errorf("opening %s: %w", path, err)
		}
		return st, "sqlite", nil
	}
	return nil, "", fmt.Errorf("--db %q: want postgres://... or sqlite:PATH", redact(db))
}

// redact hides a password in a DSN-like string before it is printed.
func redact(s string) string {
	if i := strings.Index(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}
