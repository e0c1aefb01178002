// Command pool is the user's client for alt.crypt.messages: it sends
// messages to the pool and finds yours in it.
//
//	pool keygen [--name USERID] [--v6] [--passphrase-file FILE]
//	pool import FILE|-                          secret keys (e.g. gpg --export-secret-keys)
//	pool import [--contact NAME] [--hsub SECRET | --hsub-file FILE] [FILE|-]
//	pool send --to CONTACT [--server HOST:PORT | --print] [--proxy URL] [--insecure] [--later [--delay-mean D] | --now] < message
//	pool sync [--server HOST:PORT] [--only-matches] [--connections N] [--proxy URL] [--insecure]
//	pool read [--out DIR] [--again] [--workers N] [--key-passphrase-file FILE]
//	pool run [--server HOST:PORT] [--cover-rate N] [--user NAME [--password-file FILE]] [--hashcash-bits N] [--proxy URL] [--insecure]
//	pool contacts
//	pool pubkey
//
// The pool directory is --home, $ALTCRYPT_HOME, or altcrypt under the user's
// config directory. The server is --server, $ALTCRYPT_SERVER, or (for sync)
// every server synced before, else 127.0.0.1:1119 (nntpd's default).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/altcrypt/altcrypt/internal/version"
	"github.com/altcrypt/altcrypt/pool"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/spool"
	"golang.org/x/term"
)

const usage = `usage: pool [--home DIR] COMMAND [flags]
       pool --version

commands:
  keygen    make a key (Curve25519, OpenPGP v4; --v6 for RFC 9580 v6) and print its public key
  import    store secret keys from FILE, or a contact's public key (named after its user ID unless --contact NAME) and hsub secret
  send      encrypt standard input to a contact and post it (--server) or print the article (--print)
  sync      download every new article of the pool from a server into the local store
  read      find the messages for you among the articles downloaded, print or save them
  inbox     list the messages found (pool inbox N shows one)
  reply     answer inbox message N: encrypt standard input to its sender and post it
  contacts  list contacts (--remove NAME, --rename OLD NEW)
  pubkey    print the public keys of your secret keys again, to give to contacts
  run       stay up and post queued messages (send --later) at random times, with optional cover posts

run "pool COMMAND -h" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	top := flag.NewFlagSet("pool", flag.ContinueOnError)
	top.SetOutput(stderr)
	top.Usage = func() {} // printed below: to stdout for --help, to stderr for a mistake
	homeDir := top.String("home", "", "pool directory (default $ALTCRYPT_HOME or the user config directory)")
	showVersion := top.Bool("version", false, "print the version and exit")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage) // --help is asked for: exit 0, like "pool help"
			return 0
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.String("pool"))
		return 0
	}
	if top.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := top.Arg(0), top.Args()[1:]
	if cmd == "help" {
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage)
			return 0
		}
		// "pool help send" is "pool send -h": the command prints its flags.
		cmd, rest = rest[0], []string{"-h"}
	}
	c, err := pool.New(*homeDir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	c.Progress = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := map[string]func(context.Context, *pool.Client, []string, io.Reader, io.Writer, io.Writer) error{
		"keygen":   keygen,
		"import":   importKeys,
		"send":     send,
		"sync":     syncCmd,
		"read":     read,
		"contacts": contacts,
		"pubkey":   pubkey,
		"inbox":    inbox,
		"reply":    reply,
		"run":      runCmd,
	}
	f, ok := cmds[cmd]
	if !ok {
		fmt.Fprintf(stderr, "pool: unknown command %q\n\n", cmd)
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err := f(ctx, c, rest, stdin, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // -h: help was asked for, as the flag package treats it
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pool "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // -h: the flags were printed as asked
		}
		return errUsage
	}
	return nil
}

func keygen(ctx context.Context, c *pool.Client, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flags("keygen", stderr)
	name := fs.String("name", "", "the key's user ID: a name, an e-mail address or \"Name <address>\"; it is public (contacts see it, and pool import names the contact after it); asked for when standard input is a terminal")
	v6 := fs.Bool("v6", false, "make an RFC 9580 v6 key (Ed25519 + X25519); gpg 2.2 cannot read it")
	passFile := fs.String("passphrase-file", "", "protect the secret key with the passphrase in `FILE` (first line); pool read then needs --key-passphrase-file")
	if err := parse(fs, args); err != nil {
		return err
	}
	uid := *name
	if uid == "" {
		var err error
		if uid, err = askUserID(stdin, stderr); err != nil {
			return err
		}
	}
	uname, email, err := home.ParseUserID(uid)
	if err != nil {
		return fmt.Errorf("pool keygen: --name: %w", err)
	}
	var pass []byte
	if *passFile != "" {
		var err error
		if pass, err = fileFirstLine(*passFile); err != nil {
			return fmt.Errorf("--passphrase-file: %w", err)
		}
		if len(pass) == 0 {
			return errors.New("--passphrase-file: the first line is empty")
		}
	}
	e, err := c.Home.Keygen(home.KeyOptions{Name: uname, Email: email, V6: *v6, Passphrase: pass})
	if err != nil {
		return err
	}
	pub, err := home.ArmoredPublic(e)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "pool: key %X for %q made in %s; give this public key to your contacts:\n",
		e.PrimaryKey.Fingerprint, e.PrimaryIdentity().Name, c.Home.Dir)
	_, err = stdout.Write(pub)
	return err
}

// askUserID asks for the key's user ID when standard input is a terminal;
// otherwise (a script) --name is required, so no key is ever named by us.
func askUserID(stdin io.Reader, stderr io.Writer) (string, error) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(stderr, "pool keygen: give the key's user ID with --name: a name, an e-mail address or \"Name <address>\" (it is public: contacts see it, and pool import names the contact after it)")
		return "", errUsage
	}
	fmt.Fprint(stderr, "User ID for your key: a name, an e-mail address or \"Name <address>\".\nIt is public: your contacts see it, and pool import names the contact after it.\nUser ID: ")
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("pool keygen: no user ID read: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func openInput(name string, stdin io.Reader) (io.Reader, func(), error) {
	if name == "" || name == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func importKeys(ctx context.Context, c *pool.Client, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flags("import", stderr)
	contact := fs.String("contact", "", "store FILE as the public key of contact `NAME`")
	hsubSecret := fs.String("hsub", "", "hsub `SECRET` shared with the contact (visible in ps and shell history; prefer --hsub-file)")
	hsubFile := fs.String("hsub-file", "", "read the hsub secret from `FILE` (first line)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: pool import FILE|-\n       pool import [--contact NAME] [--hsub SECRET | --hsub-file FILE] [FILE|-]\n\nWithout --contact a public key becomes the contact named after its user ID\n(its e-mail address, else its name); the name chosen is printed.\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	file := fs.Arg(0)
	secret := []byte(*hsubSecret)
	if *hsubFile != "" {
		var err error
		if secret, err = fileFirstLine(*hsubFile); err != nil {
			return err
		}
	}
	if *contact == "" {
		if len(secret) > 0 && file == "" {
			return errors.New("pool import: --hsub needs --contact NAME or the contact's public key")
		}
		r, done, err := openInput(file, stdin)
		if err != nil {
			return err
		}
		defer done()
		// Secret keys are ours; a public key is a contact, named after
		// its user ID since no --contact was given.
		imp, err := c.Home.Import(r)
		if err != nil {
			return err
		}
		for _, e := range imp.Secret {
			fmt.Fprintf(stdout, "secret key %X imported\n", e.PrimaryKey.Fingerprint)
		}
		if imp.Contact == "" {
			if len(secret) > 0 {
				return errors.New("pool import: --hsub goes with a contact's public key, not secret keys")
			}
			return nil
		}
		fmt.Fprintf(stdout, "contact %s: key %X (name taken from the user ID %q; send with --to %s)\n",
			imp.Contact, imp.Entity.PrimaryKey.Fingerprint, imp.UserID, imp.Contact)
		return storeHsub(c, imp.Contact, secret, stdout)
	}
	if file == "" && len(secret) == 0 {
		return errors.New("pool import --contact: give the contact's public key FILE (or - for standard input), --hsub, or both")
	}
	if file != "" {
		r, done, err := openInput(file, stdin)
		if err != nil {
			return err
		}
		defer done()
		e, err := c.Home.ImportContact(*contact, r)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "contact %s: key %X\n", *contact, e.PrimaryKey.Fingerprint)
	}
	return storeHsub(c, *contact, secret, stdout)
}

// storeHsub stores the hsub secret for contact, if one was given.
func storeHsub(c *pool.Client, contact string, secret []byte, stdout io.Writer) error {
	if len(secret) == 0 {
		return nil
	}
	if err := c.Home.SetHsub(contact, secret); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "contact %s: hsub secret stored\n", contact)
	return nil
}

// defaultAddr is where nntpd listens when started without flags, so
// that the README's first commands work together.
const defaultAddr = "127.0.0.1:1119"

func defaultServer() string {
	if s := os.Getenv("ALTCRYPT_SERVER"); s != "" {
		return s
	}
	return defaultAddr
}

func send(ctx context.Context, c *pool.Client, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flags("send", stderr)
	to := fs.String("to", "", "the contact `NAME` to encrypt to")
	of := addOutgoingFlags(fs, "print the whole article instead of posting it (for a mail-to-news gateway)",
		"sign the message with your key (inside the encryption: only the recipient sees it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := of.net.apply(c); err != nil {
		return err
	}
	if *to == "" || fs.NArg() > 0 || (*of.print && *of.server != "") {
		fmt.Fprint(stderr, "usage: pool send --to CONTACT [--server HOST:PORT | --print] < message\n")
		return errUsage
	}
	msg, err := readMessage(stdin, "pool send", stderr)
	if err != nil {
		return err
	}
	return of.deliver(ctx, c, *to, msg, stdout, stderr)
}

func syncCmd(ctx context.Context, c *pool.Client, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flags("sync", stderr)
	server := fs.String("server", "", "`HOST:PORT` of the news server (default: $ALTCRYPT_SERVER, every server synced before, or 127.0.0.1:1119)")
	only := fs.Bool("only-matches", false, "fetch only articles whose Subject matches an hsub secret (reveals which are yours)")
	lockStep := fs.Bool("lock-step", false, "wait for each article before asking for the next (for a server that mishandles pipelined commands)")
	conns := fs.Int("connections", 0, fmt.Sprintf("connections that fetch articles at once, each with its share of the range (default %d; with --lock-step %d)", pool.DefaultPipelinedConnections, pool.DefaultConnections))
	compress := fs.Bool("compress", false, "ask for COMPRESS DEFLATE (saves about a fifth of the bytes, costs CPU: for a slow link)")
	window := fs.Int("window", pool.DefaultWindow, "commands sent ahead of the answers on each connection")
	nf := addNetFlags(fs)
	lf := addLoginFlags(fs) // for the queued messages sync posts first
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := nf.apply(c); err != nil {
		return err
	}
	po, err := lf.options(false)
	if err != nil {
		return err
	}
	servers := []string{*server}
	if *server == "" {
		servers = knownServers(c)
		if os.Getenv("ALTCRYPT_SERVER") != "" || len(servers) == 0 {
			servers = []string{defaultServer()}
		}
	}
	if *only {
		fmt.Fprintln(stderr, "WARNING:", pool.OnlyMatchesWarning)
	}
	if err := flushOutbox(ctx, c, po, stderr); err != nil {
		// A broken outbox must not stop the user from reading.
		fmt.Fprintf(stderr, "pool sync: the outbox was not posted from: %v\n", err)
	}
	for _, s := range servers {
		st, err := c.Sync(ctx, s, pool.SyncOptions{OnlyMatches: *only, LockStep: *lockStep, Connections: *conns, Window: *window, Compress: *compress})
		if st.Fetched > 0 || err == nil {
			fmt.Fprintf(stderr, "pool sync %s: %d new articles stored (%d KiB) in %s", s, st.Fetched, st.Bytes>>10, st.Elapsed.Round(1e6))
			if st.Missing > 0 {
				fmt.Fprintf(stderr, ", %d listed but gone", st.Missing)
			}
			if st.Expired > 0 {
				fmt.Fprintf(stderr, ", %d expired before this sync (sync more often)", st.Expired)
			}
			fmt.Fprintln(stderr)
		}
		if st.Stopped {
			fmt.Fprintf(stderr, "pool sync %s: interrupted; what was fetched is kept, run sync again to continue\n", s)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// knownServers lists the servers that have a local store.
func knownServers(c *pool.Client) []string {
	files, _ := filepath.Glob(filepath.Join(c.Home.SpoolDir(), "*", "sync.json"))
	var out []string
	for _, f := range files {
		r, err := spool.OpenReader(filepath.Dir(f))
		if err == nil && r.State().Server != "" {
			out = append(out, r.State().Server)
		}
	}
	return out
}

func read(ctx context.Context, c *pool.Client, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flags("read", stderr)
	out := fs.String("out", "", "save each message in `DIR` instead of printing it")
	again := fs.Bool("again", false, "examine every stored article again, not only the new ones")
	workers := fs.Int("workers", 0, "trial-decryption workers (default: one per CPU)")
	passFile := fs.String("key-passphrase-file", "", "unlock protected secret keys with the passphrase in `FILE` (first line)")
	if err := parse(fs, args); err != nil {
		return err
	}
	opt := pool.ReadOptions{Workers: *workers, Again: *again}
	if *passFile != "" {
		var err error
		if opt.KeyPassphrase, err = fileFirstLine(*passFile); err != nil {
			return err
		}
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o700); err != nil {
			return err
		}
	}
	st, err := c.Read(ctx, opt, func(f *pool.Found) error {
		how := "trial decryption"
		switch {
		case f.Hsub:
			how = "hsub match"
		case f.Symmetric:
			how = "passphrase"
		}
		date := "date unknown"
		if !f.Date.IsZero() {
			date = f.Date.Format("2006-01-02 15:04:05 UTC")
		}
		head := fmt.Sprintf("article %d on %s, %s, %s (%s)", f.Number, f.Server, date, f.MessageID, how)
		from := "from an unknown sender"
		if f.From != "" {
			from = "from " + f.From + " (by " + f.FromHow + ")"
		}
		head += "\n    " + from + ", " + f.Signature
		if !*again {
			n, err := c.SaveInbox(f)
			if err != nil {
				return err
			}
			head += fmt.Sprintf(", inbox %d", n)
		}
		if *out == "" {
			fmt.Fprintf(stdout, "=== %s\n", head)
			writeText(stdout, f.Plaintext)
			return nil
		}
		name := filepath.Join(*out, fmt.Sprintf("%s-%d.msg", spool.DirName(f.Server), f.Number))
		if err := os.WriteFile(name, f.Plaintext, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s\n", name, head)
		return nil
	})
	if st.Examined > 0 || err == nil {
		rate := 0.0
		if st.Elapsed > 0 {
			rate = float64(st.Examined) / st.Elapsed.Seconds()
		}
		fmt.Fprintf(stderr, "pool read: %d articles examined in %s (%.0f/s), %d hsub matches, %d messages found",
			st.Examined, st.Elapsed.Round(1e6), rate, st.HsubMatch, st.Found)
		if st.Unreadable > 0 {
			fmt.Fprintf(stderr, ", %d not OpenPGP", st.Unreadable)
		}
		fmt.Fprintln(stderr)
	}
	return err
}

func contacts(ctx context.Context, c *pool.Client, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flags("contacts", stderr)
	remove := fs.String("remove", "", "remove contact `NAME` (its key and hsub secret)")
	rename := fs.String("rename", "", "rename contact `OLD` to the name given as argument")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *remove != "" && *rename == "" && fs.NArg() == 0:
		if err := c.Home.RemoveContact(*remove); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "contact %s removed\n", *remove)
		return nil
	case *rename != "" && *remove == "" && fs.NArg() == 1:
		if err := c.Home.RenameContact(*rename, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "contact %s is now %s\n", *rename, fs.Arg(0))
		return nil
	case *remove != "" || *rename != "" || fs.NArg() > 0:
		fmt.Fprint(stderr, "usage: pool contacts [--remove NAME | --rename OLD NEW]\n")
		return errUsage
	}
	cs, err := c.Home.Contacts()
	if err != nil {
		return err
	}
	for _, ct := range cs {
		key := "no key"
		if ct.Entity != nil {
			key = fmt.Sprintf("%X", ct.Entity.PrimaryKey.Fingerprint)
		}
		hs := ""
		if ct.Hsub != nil {
			hs = " (hsub)"
		}
		fmt.Fprintf(stdout, "%s\t%s%s\n", ct.Name, key, hs)
	}
	return nil
}

func pubkey(ctx context.Context, c *pool.Client, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if err := parse(flags("pubkey", stderr), args); err != nil {
		return err
	}
	el, err := c.Home.SecretKeys()
	if err != nil {
		return err
	}
	if len(el) == 0 {
		return errors.New("pool: no secret key (pool keygen)")
	}
	for _, e := range el {
		pub, err := home.ArmoredPublic(e)
		if err != nil {
			return err
		}
		if _, err := stdout.Write(pub); err != nil {
			return err
		}
	}
	return nil
}
