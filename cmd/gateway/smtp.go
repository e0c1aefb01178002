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

	"github.com/altcrypt/altcrypt/internal/sdnotify"
	"github.com/altcrypt/altcrypt/internal/tlsconf"
	"github.com/altcrypt/altcrypt/mail2news"
)

const smtpUsage = `usage: gateway smtp --listen ADDR --accept ADDRS [flags]

An SMTP listener that posts each mail to the news server before it answers
DATA: 250 once the server answered 240, 451 when the server is down or busy,
554 with the reason when the mail is refused, 552 when it is too large.

flags:
`

// smtpCommand is `gateway smtp` as main's dispatcher calls it.
func smtpCommand(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
	return runSMTP(ctx, args, stderr)
}

// runSMTP is `gateway smtp`. It serves until ctx ends or SIGINT/SIGTERM.
func runSMTP(ctx context.Context, args []string, stderr io.Writer) int {
	fs, nf := newPosterFlags("gateway smtp", smtpUsage, stderr)
	var (
		listen, domain, accept, tlsCert, tlsKey, rateBy string
		rate                                            int
		logAddresses                                    bool
	)
	fs.StringVar(&listen, "listen", "", "`address` to listen on (host:port)")
	fs.StringVar(&domain, "domain", "localhost", "host name announced in the greeting")
	fs.StringVar(&accept, "accept", "", "comma-separated recipient `addresses` to take; '*' matches any run of characters before the @ (mail2news-*@example.org)")
	fs.StringVar(&tlsCert, "tls-cert", "", "PEM certificate `file`; with --tls-key, STARTTLS is offered")
	fs.StringVar(&tlsKey, "tls-key", "", "PEM private key `file`")
	fs.IntVar(&rate, "rate", 0, "mails per minute allowed per key (see --rate-by); 0 means no limit")
	fs.StringVar(&rateBy, "rate-by", "ip", "rate limit key: ip (client address) or sender (envelope sender)")
	fs.BoolVar(&logAddresses, "log-addresses", false, "log client and envelope addresses (off: never logged)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return mail2news.ExitOK
		}
		return mail2news.ExitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "gateway smtp: "+format+"\n", a...)
		return mail2news.ExitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case listen == "":
		return usageErr("--listen is required")
	case accept == "":
		return usageErr("--accept is required")
	case (tlsCert == "") != (tlsKey == ""):
		return usageErr("--tls-cert and --tls-key go together")
	case rate < 0:
		return usageErr("--rate must not be negative")
	case rateBy != "ip" && rateBy != "sender":
		return usageErr("--rate-by must be ip or sender")
	}
	gw, err := nf.gateway()
	if err != nil {
		fmt.Fprintf(stderr, "gateway smtp: %v\n", err)
		var ce configError
		if errors.As(err, &ce) {
			return mail2news.ExitConfigErr
		}
		return mail2news.ExitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	gw.Log = log
	opt := mail2news.SMTPOptions{
		Domain:        domain,
		RatePerMinute: rate,
		RateBy:        rateBy,
		LogAddresses:  logAddresses,
		PostTimeout:   nf.timeout,
	}
	for _, a := range strings.Split(accept, ",") {
		if a = strings.TrimSpace(a); a != "" {
			opt.Accept = append(opt.Accept, a)
		}
	}
	if tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
		if err != nil {
			fmt.Fprintf(stderr, "gateway smtp: %v\n", err)
			return mail2news.ExitConfigErr
		}
		opt.TLS = tlsconf.Server(&tls.Config{Certificates: []tls.Certificate{cert}})
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := mail2news.NewSMTPServer(context.WithoutCancel(ctx), gw, opt)
	if err != nil {
		return usageErr("%v", err)
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "gateway smtp: %v\n", err)
		return mail2news.ExitConfigErr
	}
	log.Info("smtp listening", "addr", l.Addr().String(), "server", nf.server, "groups", gw.Config.Groups)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	// Under systemd with Type=notify, the unit is started once we listen.
	notify := sdnotify.New(os.Getenv("NOTIFY_SOCKET"))
	if err := notify.Ready("accepting mail on " + l.Addr().String()); err != nil {
		log.Warn("cannot tell systemd we are ready", "err", err)
	}
	defer notify.Stopping()
	select {
	case err := <-done:
		if err != nil {
			log.Error("smtp serve", "err", err)
			return 1
		}
		return mail2news.ExitOK
	case <-ctx.Done():
	}
	// Let deliveries in progress finish (each is bounded by --timeout), so
	// no client is left without its answer.
	sctx, cancel := context.WithTimeout(context.Background(), nf.timeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	log.Info("smtp stopped")
	return mail2news.ExitOK
}
