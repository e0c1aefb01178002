package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/mail2news"
)

const postUsage = `usage: gateway post [flags] < mail

Posts one mail read on standard input (an MTA pipe: Postfix pipe, exim pipe
transport, .forward, procmail) to the news server. Exit status (sysexits):
0 posted, 65 refused (reason on standard error, for the bounce), 75 try again
later (server down or busy), 64 usage, 78 configuration (also when the news
server refuses the login, 480/481/483, or its certificate does not verify).

flags:
`

// nntpFlags are the flags shared by post and smtp for reaching the server.
type nntpFlags struct {
	server, user, passwordFile, tlsCA, tlsServerName string
	tls                                              bool
	timeout                                          time.Duration
	groups                                           string
	groupFromAddress                                 bool
	maxSize                                          int64
}

// newPosterFlags is the flag set of a command that posts to the news
// server (post, smtp): usage text first, then the server flags.
func newPosterFlags(name, usage string, stderr io.Writer) (*flag.FlagSet, *nntpFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	nf := new(nntpFlags)
	nf.register(fs)
	return fs, nf
}

func (f *nntpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.server, "server", "127.0.0.1:1119", "news server `host:port`")
	fs.StringVar(&f.user, "user", "", "AUTHINFO user name")
	fs.StringVar(&f.passwordFile, "password-file", "", "`file` holding the AUTHINFO password")
	fs.BoolVar(&f.tls, "tls", false, "STARTTLS to the news server before anything else")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM `file` of CA certificates to trust for --tls (default: the system's)")
	fs.StringVar(&f.tlsServerName, "tls-server-name", "", "name to verify in the server certificate (default: the host of --server)")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "time limit for one post")
	fs.StringVar(&f.groups, "groups", mail2news.DefaultGroup, "comma-separated `groups` the gateway posts to")
	fs.BoolVar(&f.groupFromAddress, "group-from-address", false, "take the group from the recipient address (mail2news-GROUP@domain)")
	fs.Int64Var(&f.maxSize, "max-size", mail2news.DefaultMaxSize, "largest mail accepted, in `bytes`")
}

// configError is a problem with the gateway's own configuration (exit 78).
type configError struct{ error }

// gateway builds the pipeline from the flags.
func (f *nntpFlags) gateway() (*mail2news.Gateway, error) {
	var groups []string
	for _, g := range strings.Split(f.groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return nil, errors.New("--groups is empty")
	}
	if f.maxSize <= 0 {
		return nil, errors.New("--max-size must be positive")
	}
	if (f.user == "") != (f.passwordFile == "") {
		return nil, errors.New("--user and --password-file go together")
	}
	p := &mail2news.NNTPPoster{Addr: f.server, User: f.user, Timeout: f.timeout}
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return nil, configError{fmt.Errorf("password file: %w", err)}
		}
		p.Password = strings.TrimRight(string(b), "\r\n")
	}
	if f.tls {
		cfg := &tls.Config{ServerName: f.tlsServerName, MinVersion: tls.VersionTLS12}
		if f.tlsCA != "" {
			pem, err := os.ReadFile(f.tlsCA)
			if err != nil {
				return nil, configError{fmt.Errorf("--tls-ca: %w", err)}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, configError{fmt.Errorf("--tls-ca %s: no PEM certificate", f.tlsCA)}
			}
			cfg.RootCAs = pool
		}
		p.TLS = cfg
	}
	return &mail2news.Gateway{
		Config: mail2news.Config{Groups: groups, GroupFromAddress: f.groupFromAddress, MaxSize: f.maxSize},
		Poster: p,
	}, nil
}

// postCommand is `gateway post` as main's dispatcher calls it.
func postCommand(ctx context.Context, args []string, stdin io.Reader, _, stderr io.Writer) int {
	return runPost(ctx, args, stdin, stderr, os.Getenv)
}

// runPost is `gateway post`. getenv gives the environment the MTA set
// (ORIGINAL_RECIPIENT, RECIPIENT).
func runPost(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer, getenv func(string) string) int {
	fs, nf := newPosterFlags("gateway post", postUsage, stderr)
	var recipient string
	fs.StringVar(&recipient, "recipient", "", "envelope recipient `address` (default: $ORIGINAL_RECIPIENT, $RECIPIENT, then the Delivered-To, X-Original-To and To headers)")
	fs.StringVar(&recipient, "r", "", "short for --recipient")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return mail2news.ExitOK
		}
		return mail2news.ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway post: unexpected argument %q\n", fs.Arg(0))
		return mail2news.ExitUsage
	}
	gw, err := nf.gateway()
	if err != nil {
		fmt.Fprintf(stderr, "gateway post: %v\n", err)
		var ce configError
		if errors.As(err, &ce) {
			return mail2news.ExitConfigErr
		}
		return mail2news.ExitUsage
	}
	if recipient == "" {
		recipient = getenv("ORIGINAL_RECIPIENT")
	}
	if recipient == "" {
		recipient = getenv("RECIPIENT")
	}
	var recipients []string
	if recipient != "" {
		recipients = []string{recipient}
	}

	data, err := mail2news.ReadMail(gw.Config, stdin)
	if err != nil {
		// Read the rest, so the MTA sees our exit status rather than a
		// broken pipe.
		io.Copy(io.Discard, stdin)
		return report(stderr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, nf.timeout)
	defer cancel()
	_, err = gw.Deliver(ctx, data, recipients)
	return report(stderr, err)
}

// report writes the outcome for the MTA's bounce or log and returns the exit
// status. Nothing is written on success: some pipe transports treat any
// output as failure.
func report(stderr io.Writer, err error) int {
	code := mail2news.ExitCode(err)
	switch code {
	case mail2news.ExitDataErr:
		var r *mail2news.Refusal
		errors.As(err, &r)
		fmt.Fprintf(stderr, "gateway: mail refused: %s: %s\n", r.Code, r.Msg)
	case mail2news.ExitTempFail:
		fmt.Fprintf(stderr, "gateway: temporary failure, the mail will be retried: %v\n", err)
	case mail2news.ExitConfigErr:
		fmt.Fprintf(stderr, "gateway: configuration error, fix the gateway: %v\n", err)
	}
	return code
}
