package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/pool"
)

// inbox lists the messages pool read found, or shows one.
func inbox(ctx context.Context, c *pool.Client, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flags("inbox", stderr)
	sent := fs.Bool("sent", false, "the copies of the messages you sent instead")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: pool inbox [--sent] [N]\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	folder := "inbox"
	if *sent {
		folder = "sent"
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	entries, err := c.Folder(folder)
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		n, err := strconv.Atoi(fs.Arg(0))
		if err != nil {
			fs.Usage()
			return errUsage
		}
		for _, e := range entries {
			if e.Number == n {
				for _, k := range []string{"Date", "From", "To", "Subject", "Signature", "Message-ID", "Article"} {
					if v, ok := e.Header[k]; ok {
						fmt.Fprintf(stdout, "%s: %s\n", k, v)
					}
				}
				fmt.Fprintln(stdout)
				writeText(stdout, e.Text)
				return nil
			}
		}
		return fmt.Errorf("pool: no message %d in the %s", n, folder)
	}
	if len(entries) == 0 {
		fmt.Fprintf(stderr, "pool: the %s is empty\n", folder)
		return nil
	}
	for _, e := range entries {
		who := e.Header["From"]
		if *sent {
			who = "to " + e.Header["To"]
		}
		fmt.Fprintf(stdout, "%4d  %s  %-24s  %s\n", e.Number, e.Header["Date"], who, firstLine(e.Text))
	}
	return nil
}

func firstLine(text []byte) string {
	l, _, _ := strings.Cut(strings.TrimSpace(string(text)), "\n")
	if len(l) > 50 {
		l = l[:50] + "…"
	}
	return l
}

// reply encrypts standard input to the sender of inbox message N.
func reply(ctx context.Context, c *pool.Client, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flags("reply", stderr)
	of := addOutgoingFlags(fs, "print the whole article instead of posting it", "sign the reply with your key")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: pool reply [--sign] [--server HOST:PORT | --print] [--later | --now] N < message\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := of.net.apply(c); err != nil {
		return err
	}
	n, err := strconv.Atoi(fs.Arg(0))
	if fs.NArg() != 1 || err != nil {
		fs.Usage()
		return errUsage
	}
	e, err := c.InboxEntry(n)
	if err != nil {
		return err
	}
	to, err := e.Sender()
	if err != nil {
		return err
	}
	msg, err := readMessage(stdin, "pool reply", stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "pool: replying to %s\n", to)
	// A reply is where timing shows a conversation: it waits in the
	// outbox like any message when asked to.
	return of.deliver(ctx, c, to, msg, stdout, stderr)
}

// outgoingFlags are the flags of the commands that write a message to a
// contact (send, reply): where it goes, whether it is signed, when it is
// posted and how the poster logs in.
type outgoingFlags struct {
	server *string
	print  *bool
	sign   *bool
	net    netFlags
	later  laterFlags
	post   *postFlags
}

func addOutgoingFlags(fs *flag.FlagSet, printHelp, signHelp string) *outgoingFlags {
	return &outgoingFlags{
		server: fs.String("server", "", "post to `HOST:PORT` (default $ALTCRYPT_SERVER or 127.0.0.1:1119)"),
		print:  fs.Bool("print", false, printHelp),
		sign:   fs.Bool("sign", false, signHelp),
		net:    addNetFlags(fs),
		later:  addLaterFlags(fs),
		post:   addPostFlags(fs),
	}
}

// deliver signs msg if asked, then queues it in the outbox (--later) or
// encrypts and posts (or prints) it now.
func (f *outgoingFlags) deliver(ctx context.Context, c *pool.Client, to string, msg []byte, stdout, stderr io.Writer) error {
	addr := serverAddr(*f.server)
	opt, err := f.post.signOptions(c, pool.ComposeOptions{Sign: *f.sign})
	if err != nil {
		return err
	}
	if queued, err := f.later.queue(c, to, msg, opt, addr, *f.print, stderr); queued || err != nil {
		f.post.laterNote(queued, stderr)
		return err
	}
	po, err := f.post.options(*f.print)
	if err != nil {
		return err
	}
	return composeAndPost(ctx, c, to, msg, opt, addr, *f.print, po, stdout, stderr)
}

// loginFlags are the login and hashcash flags of every command that
// posts: send, reply, run, and sync (which posts the outbox first).
type loginFlags struct {
	user, passFile, resource string
	bits                     int
}

// postFlags are loginFlags and the signing key's passphrase, for send and
// reply.
type postFlags struct {
	*loginFlags
	keyPassFile string
}

// signOptions adds the passphrase of a protected signing key to opt: from
// --key-passphrase-file, else asked for on the terminal.
func (p *postFlags) signOptions(c *pool.Client, opt pool.ComposeOptions) (pool.ComposeOptions, error) {
	if !opt.Sign || !c.SigningKeyLocked() {
		return opt, nil
	}
	if p.keyPassFile != "" {
		pass, err := fileFirstLine(p.keyPassFile)
		if err != nil {
			return opt, fmt.Errorf("--key-passphrase-file: %w", err)
		}
		opt.KeyPassphrase = pass
		return opt, nil
	}
	pw, err := askPassword("passphrase of your key: ")
	if err != nil {
		return opt, fmt.Errorf("--sign: the key is protected: %w (or give --key-passphrase-file)", err)
	}
	opt.KeyPassphrase = []byte(pw)
	return opt, nil
}

func addPostFlags(fs *flag.FlagSet) *postFlags {
	p := &postFlags{loginFlags: addLoginFlags(fs)}
	fs.StringVar(&p.keyPassFile, "key-passphrase-file", "", "for --sign: unlock your protected key with the passphrase in `FILE` (default: asked on the terminal)")
	return p
}

func addLoginFlags(fs *flag.FlagSet) *loginFlags {
	p := &loginFlags{}
	fs.StringVar(&p.user, "user", "", "log in to the server as `NAME` (AUTHINFO); the password comes from --password-file or is asked for on the terminal")
	fs.StringVar(&p.passFile, "password-file", "", "read the AUTHINFO password from `FILE` (first line)")
	fs.IntVar(&p.bits, "hashcash-bits", 0, "add an X-Hashcash stamp of `N` bits (without it, one is minted when the server asks)")
	fs.StringVar(&p.resource, "hashcash-resource", "", "the resource of the stamp (default: the server's host name)")
	return p
}

// laterNote says where a queued message's login happens: the password is
// never stored in the outbox, so pool run (or pool sync) takes it.
func (p *loginFlags) laterNote(queued bool, stderr io.Writer) {
	if queued && (p.user != "" || p.bits > 0) {
		fmt.Fprintln(stderr, "pool: the login and hashcash flags apply when the message is posted: give them to pool run --user (or pool sync --user), which asks for the password")
	}
}

func (p *loginFlags) options(printOnly bool) (pool.PostOptions, error) {
	po := pool.PostOptions{User: p.user, HashcashBits: p.bits, HashcashResource: p.resource}
	if p.bits < 0 {
		return po, errors.New("--hashcash-bits must not be negative")
	}
	if p.passFile != "" && p.user == "" {
		return po, errors.New("--password-file needs --user")
	}
	if p.user == "" || printOnly {
		return po, nil
	}
	if p.passFile != "" {
		pw, err := fileFirstLine(p.passFile)
		if err != nil {
			return po, fmt.Errorf("--password-file: %w", err)
		}
		po.Password = string(pw)
		return po, nil
	}
	pw, err := askPassword(fmt.Sprintf("password for %s: ", p.user))
	if err != nil {
		return po, fmt.Errorf("--user %s: %w (or give --password-file)", p.user, err)
	}
	po.Password = pw
	return po, nil
}

// warnEmpty says so when there is nothing to send: an empty message is
// sent all the same (it may be a signal), but is usually a mistake.
func warnEmpty(msg []byte, stderr io.Writer) {
	if len(bytes.TrimSpace(msg)) == 0 {
		fmt.Fprintln(stderr, "pool: warning: the message is empty (nothing on standard input)")
	}
}

var atMost = regexp.MustCompile(`at most (\d+)`)

// composeAndPost encrypts msg to contact to and posts it to addr, or
// prints the article.
func composeAndPost(ctx context.Context, c *pool.Client, to string, msg []byte, opt pool.ComposeOptions, addr string, print bool, po pool.PostOptions, stdout, stderr io.Writer) error {
	art, err := c.ComposeWith(to, msg, opt, nil)
	if err != nil {
		return err
	}
	if print {
		_, err := stdout.Write(art)
		return err
	}
	if err := c.PostWith(ctx, addr, art, po); err != nil {
		var ne *nntp.Error
		if errors.As(err, &ne) && strings.Contains(ne.Msg, "too-large") {
			if m := atMost.FindStringSubmatch(ne.Msg); m != nil {
				limit, _ := strconv.Atoi(m[1])
				return fmt.Errorf("%w\npool: the message is %d octets; the largest this server takes is about %d octets of text", err, len(msg), pool.LargestFit(limit))
			}
		}
		return err
	}
	fmt.Fprintf(stderr, "pool: posted to %s\n", addr)
	return nil
}
