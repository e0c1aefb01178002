// Command nntpd serves alt.crypt.messages to newsreaders: reading from a
// store (the embedded SQLite by default, or PostgreSQL), and injecting
// posts through the ciphertext gate with fresh headers and batch release.
//
//	go run ./cmd/nntpd      # 127.0.0.1:1119, sqlite:altcrypt.db
//
// Every flag may also be given as ALTCRYPT_<FLAG> in the environment.
// docs/operations.md walks an operator from nothing to a peered server.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/internal/sdnotify"
	"github.com/altcrypt/altcrypt/internal/tlsconf"
	"github.com/altcrypt/altcrypt/internal/version"
	"github.com/altcrypt/altcrypt/metrics"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/store/postgres"
	"github.com/altcrypt/altcrypt/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if isAdmin(os.Args[1:]) {
		os.Exit(admin(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run starts the server and serves until ctx ends; it returns the exit
// code. environ is the environment ("KEY=value" strings).
func run(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, getenvFrom(environ), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "nntpd:", err)
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, version.String("nntpd"))
		return 0
	}
	if o.probe {
		return probe(ctx, o.listen, stderr)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintln(stderr, "nntpd: --log-level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if level <= slog.LevelDebug {
		log.Warn("debug logging records when each connection opens and closes, with its id: matched with article times, it tells which connection posted what; do not keep these logs")
	}
	for _, name := range unknownEnv(environ) {
		log.Warn("unknown environment variable ignored (a misspelled flag?)", "var", name)
	}
	notify := sdnotify.New(getenvFrom(environ)("NOTIFY_SOCKET"))
	if err := serve(ctx, o, log, notify); err != nil {
		log.Error("nntpd stopped", "err", err)
		return 1
	}
	return 0
}

// getenvFrom is os.Getenv over a given environment.
func getenvFrom(environ []string) func(string) string {
	return func(key string) string {
		v := ""
		for _, kv := range environ {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val // the last one wins, as in the C library
			}
		}
		return v
	}
}

// files is what serve reads from disk before it creates anything.
type files struct {
	accounts *inject.Accounts
	peers    *peers.File
	tls      *tls.Config
	// cert is the certificate tls serves; SIGHUP may replace it.
	cert *atomic.Pointer[tls.Certificate]
}

// loadFiles reads the accounts, peers and certificate files and checks the
// SQLite path, so that a mistake in any of them stops nntpd before a
// database file or a listener exists. Each error names its flag.
func loadFiles(o *options) (*files, error) {
	var f files
	var err error
	if o.accounts != "" {
		if f.accounts, err = inject.LoadAccounts(o.accounts); err != nil {
			return nil, fmt.Errorf("--accounts: %w", err)
		}
	}
	if o.peers != "" {
		if f.peers, err = peers.Load(o.peers); err != nil {
			return nil, fmt.Errorf("--peers: %w", err)
		}
	}
	if o.tlsCert != "" {
		cert, err := loadCert(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, err
		}
		f.cert = new(atomic.Pointer[tls.Certificate])
		f.cert.Store(&cert)
		f.tls = tlsconf.Server(&tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return f.cert.Load(), nil
		}})
	}
	if path, ok := strings.CutPrefix(o.db, "sqlite:"); ok {
		if err := checkSQLitePath(path); err != nil {
			return nil, fmt.Errorf("--db: %w", err)
		}
	}
	return &f, nil
}

// loadCert loads the key pair, naming the flag of the file that failed.
func loadCert(certFile, keyFile string) (tls.Certificate, error) {
	for _, c := range []struct{ flag, path string }{{"--tls-cert", certFile}, {"--tls-key", keyFile}} {
		fh, err := os.Open(c.path)
		if err != nil {
			if errors.Is(err, fs.ErrPermission) && c.flag == "--tls-key" {
				return tls.Certificate{}, fmt.Errorf("%s: %w (the key must be readable by the user nntpd runs as)", c.flag, err)
			}
			return tls.Certificate{}, fmt.Errorf("%s: %w", c.flag, err)
		}
		fh.Close()
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// checkSQLitePath says why SQLite could not open or create path, in words
// rather than SQLite's "out of memory (14)".
func checkSQLitePath(path string) error {
	if path == "" {
		return errors.New("sqlite: needs a path (sqlite:PATH)")
	}
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("sqlite:%s is a directory, not a database file", path)
		}
		if err := syscall.Access(path, 6); err != nil { // R_OK|W_OK
			return fmt.Errorf("sqlite:%s: cannot read and write the database file: %w", path, err)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite:%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite:%s: the directory %s does not exist (create it, or give another path)", path, dir)
	case err != nil:
		return fmt.Errorf("sqlite:%s: %w", path, err)
	case !st.IsDir():
		return fmt.Errorf("sqlite:%s: %s is not a directory", path, dir)
	}
	if err := syscall.Access(dir, 3); err != nil { // W_OK|X_OK
		return fmt.Errorf("sqlite:%s: cannot create the database in %s: %w", path, dir, err)
	}
	return nil
}

// serve runs the server until ctx ends. Once the listeners serve and the
// store's migrations have run it tells systemd (Type=notify) through notify.
func serve(ctx context.Context, o *options, log *slog.Logger, notify *sdnotify.Notifier) error {
	// SIGHUP reloads files (below); until then it waits here rather than
	// killing the process, as its default action would.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	fl, err := loadFiles(o)
	if err != nil {
		return err
	}
	// Bind before the store exists: a busy port leaves no database behind.
	var lns []boundListener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for _, a := range []struct {
		flag, addr string
		tls        bool
	}{{"--listen", o.listen, false}, {"--tls-listen", o.tlsListen, true}} {
		if a.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", a.flag, err)
		}
		lns = append(lns, boundListener{l, a.tls})
	}
	var (
		metricsL net.Listener
		mx       *metrics.Metrics
	)
	if o.metricsListen != "" {
		if metricsL, err = net.Listen("tcp", o.metricsListen); err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer metricsL.Close()
	}

	st, kind, err := openStore(ctx, o.db, o.dbWait, log)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := o.nodeConfig(fl, log)
	if metricsL != nil {
		mx = metrics.New()
		st = mx.Store(st) // times the commits acknowledgements wait for
		cfg.Observer = mx
	}
	n, err := node.New(ctx, cfg, st)
	if err != nil {
		return err
	}
	if mx != nil {
		mctx, stopMetrics := context.WithCancel(context.Background())
		defer stopMetrics()
		serveMetrics(mctx, mx, metricsL, log)
		if fl.peers != nil {
			observeFeeds(mx, st, fl.peers, n)
		}
	}

	errc := make(chan error, 3)
	var srvAddrs []string
	for _, bl := range lns {
		srvAddrs = append(srvAddrs, bl.Addr().String())
		log.Info("listening", "addr", bl.Addr().String(), "tls", bl.tls)
		go func() {
			if bl.tls {
				errc <- n.ServeTLS(bl)
			} else {
				errc <- n.Serve(bl)
			}
		}()
	}
	lns = nil // the node closes them now
	n.Start()

	rl := &reloader{o: o, log: log, accounts: fl.accounts, peers: fl.peers, cert: fl.cert}
	if fl.peers != nil {
		rl.feeds = n
	}
	reloadCtx, stopReload := context.WithCancel(context.Background())
	defer stopReload()
	go func() {
		for {
			select {
			case <-hup:
				rl.reload()
			case <-reloadCtx.Done():
				return
			}
		}
	}()
	if o.releaseInterval == 0 {
		log.Warn("--release-interval 0 publishes every post at once, in the order posts arrive: anyone watching the group, or the line, can match articles to posters; use it for tests only")
	}
	log.Info("serving", "name", o.name, "store", kind, "listeners", strings.Join(srvAddrs, ","),
		"groups", strings.Join(o.groupList(), ","), "peers", peerSummary(fl.peers),
		"release_interval", formatDuration(o.releaseInterval), "release_min_batch", o.releaseMinBatch,
		"release_max_wait", formatDuration(o.releaseMaxWait), "hashcash_bits", o.hashcashBits)
	if err := notify.Ready(fmt.Sprintf("serving from %s on %s", kind, strings.Join(srvAddrs, " "))); err != nil {
		log.Warn("cannot tell systemd we are ready", "err", err)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}
	notify.Stopping()
	// Connections first, then the loops (a release in progress finishes).
	if err := n.Shutdown(context.Background()); err != nil {
		log.Warn("shutdown", "err", err)
	}
	stopReload()
	if serveErr != nil && !errors.Is(serveErr, nntp.ErrServerClosed) {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

// boundListener is a listener bound at start, before the store opens.
type boundListener struct {
	net.Listener
	tls bool
}

// openStore opens the store a --db value names. PostgreSQL is retried for
// up to wait while it cannot be reached (it may still be starting, as in
// docker compose), saying so in the log each time.
func openStore(ctx context.Context, db string, wait time.Duration, log *slog.Logger) (store.Store, string, error) {
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		deadline := time.Now().Add(wait)
		for attempt := 1; ; attempt++ {
			st, err := postgres.Open(ctx, db)
			if err == nil {
				if attempt > 1 {
					log.Info("database reachable", "db", redact(db), "attempts", attempt)
				}
				return st, "postgres", nil
			}
			if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) || ctx.Err() != nil {
				return nil, "", fmt.Errorf("--db %s: %w", redact(db), err)
			}
			log.Warn("database not reachable yet; retrying", "db", redact(db), "err", err,
				"retry_in", "2s", "giving_up_in", time.Until(deadline).Round(time.Second).String())
			select {
			case <-ctx.Done():
				return nil, "", fmt.Errorf("--db %s: %w", redact(db), err)
			case <-time.After(2 * time.Second):
			}
		}
	case strings.HasPrefix(db, "sqlite:"):
		path := strings.TrimPrefix(db, "sqlite:")
		if err := checkSQLitePath(path); err != nil {
			return nil, "", fmt.Errorf("--db: %w", err)
		}
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, "", fmt.Errorf("--db sqlite:%s: %w", path, err)
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

// probe is --probe, a health check for images without a shell (docker's
// HEALTHCHECK): it connects to the --listen address and exits 0 when the
// server greets with 200 or 201 within 5 s, 1 otherwise.
func probe(ctx context.Context, addr string, stderr io.Writer) int {
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, "nntpd --probe:", err)
		return 1
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	line := strings.TrimSpace(string(buf[:n]))
	if !strings.HasPrefix(line, "200 ") && !strings.HasPrefix(line, "201 ") {
		fmt.Fprintf(stderr, "nntpd --probe: %s greeted with %q\n", addr, line)
		return 1
	}
	c.Write([]byte("QUIT\r\n"))
	return 0
}

// peerSummary names the peers for the start-up line: "inn(feeds us,
// we send)" and so on, or "none".
func peerSummary(f *peers.File) string {
	if f == nil || len(f.Peers) == 0 {
		return "none"
	}
	var parts []string
	for _, p := range f.Peers {
		var roles []string
		if len(p.AcceptFrom) > 0 || p.AcceptUser != "" {
			roles = append(roles, "feeds us")
		}
		if p.Sends() {
			roles = append(roles, "we send to "+p.SendTo)
		}
		parts = append(parts, p.Name+"("+strings.Join(roles, ", ")+")")
	}
	return strings.Join(parts, " ")
}
