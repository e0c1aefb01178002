package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver, for check's connection test
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
)

// adminUsage lists the administration subcommands. They act on the store
// named by --db (or ALTCRYPT_DB), so on PostgreSQL they work beside any
// number of running front-ends, like INN's ctlinnd.
const adminUsage = `usage: nntpd [flags]                      serve (the default)
       nntpd groups [flags]               list groups with article counts and marks
       nntpd group add NAME [flags]       carry a group (readers and peers see it at once)
       nntpd group remove NAME [flags]    stop carrying a group (numbers are kept for a later add)
       nntpd peers [flags]                feed queues: depth, oldest article, last success and error
       nntpd expire [flags]               run expiry now (--retention, --history-retention)
       nntpd passwd [--hash bcrypt|argon2id] USER
                                          print an --accounts line; the password is read
                                          without echo, or as the first line of standard input
       nntpd check [flags]                check flags, files, certificate and database; one line per problem
Flags are nntpd's own (nntpd --help), also taken from ALTCRYPT_* variables.
`

// adminCommands maps each subcommand to the number of words it takes
// before its flags ("group add NAME": 2).
var adminCommands = map[string]int{"groups": 0, "group": 2, "peers": 0, "expire": 0, "passwd": -1, "check": 0}

// isAdmin reports whether args start with an administration subcommand.
func isAdmin(args []string) bool {
	if len(args) == 0 {
		return false
	}
	_, ok := adminCommands[args[0]]
	return ok
}

// admin runs one administration subcommand and returns the exit code:
// 0 done, 1 failed (the reason on stderr), 2 usage.
func admin(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := args[0]
	if name == "passwd" {
		return passwd(args[1:], stdin, stdout, stderr)
	}
	words := args[1:]
	if n := adminCommands[name]; n > 0 {
		if len(words) < n || strings.HasPrefix(words[0], "-") {
			fmt.Fprint(stderr, adminUsage)
			return 2
		}
		words = args[1 : 1+n]
	} else {
		words = nil
	}
	o, err := parseOptions(args[1+len(words):], getenvFrom(environ), stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, adminUsage)
		return 0
	}
	if name == "check" {
		return check(ctx, o, err, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nntpd %s: %v\n", name, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, _, err := openStore(ctx, o.db, o.dbWait, log)
	if err != nil {
		fmt.Fprintf(stderr, "nntpd %s: %v\n", name, err)
		return 1
	}
	defer st.Close()
	switch name {
	case "groups":
		err = listGroups(ctx, st, stdout)
	case "group":
		err = changeGroup(ctx, st, o, words[0], words[1], stdout)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, adminUsage)
			return 2
		}
	case "peers":
		err = listPeers(ctx, st, o, time.Now(), stdout)
	case "expire":
		err = expireNow(ctx, st, o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nntpd %s: %v\n", name, err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func listGroups(ctx context.Context, st news.Reader, w io.Writer) error {
	gs, err := st.Groups(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tARTICLES\tLOW\tHIGH\tSTATUS\tCREATED")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", g.Name, g.Count, g.Low, g.High, g.Status,
			g.Created.UTC().Format(time.DateOnly))
	}
	return tw.Flush()
}

func changeGroup(ctx context.Context, st store.Store, o *options, verb, group string, w io.Writer) error {
	switch verb {
	case "add":
		if err := st.EnsureGroup(ctx, group, ""); err != nil {
			return err
		}
		g, err := st.Group(ctx, group)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "group %s carried (articles %d, marks %d-%d)\n", g.Name, g.Count, g.Low, g.High)
		return nil
	case "remove":
		if err := st.RemoveGroup(ctx, group); errors.Is(err, nntp.ErrNoSuchGroup) {
			return fmt.Errorf("no group %s", group)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(w, "group %s removed: readers no longer see it, posts and feeds for it are refused\n", group)
		if slices.Contains(o.groupList(), group) {
			fmt.Fprintf(w, "note: --groups names %s: take it out there too, or the next start carries it again\n", group)
		}
		return nil
	}
	return errUsage
}

// peerRow is what nntpd peers shows of one peer.
type peerRow struct {
	queue  store.QueueStat
	state  store.PeerState
	sendTo string
}

func listPeers(ctx context.Context, st store.Admin, o *options, now time.Time, w io.Writer) error {
	rows := map[string]*peerRow{}
	row := func(name string) *peerRow {
		if rows[name] == nil {
			rows[name] = &peerRow{}
		}
		return rows[name]
	}
	if o.peers != "" {
		f, err := peers.Load(o.peers)
		if err != nil {
			return fmt.Errorf("--peers: %w", err)
		}
		for _, p := range f.Peers {
			row(p.Name).sendTo = p.SendTo
		}
	}
	qs, err := st.QueueStats(ctx)
	if err != nil {
		return err
	}
	for _, q := range qs {
		row(q.Peer).queue = q
	}
	ps, err := st.PeerStates(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		row(p.Peer).state = p
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	slices.Sort(names)
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tSEND-TO\tQUEUED\tOLDEST\tLAST-SUCCESS\tLAST-ERROR")
	for _, n := range names {
		r := rows[n]
		send := r.sendTo
		if send == "" {
			send = "-"
		}
		lastErr := "-"
		if !r.state.LastErrorAt.IsZero() {
			lastErr = ago(r.state.LastErrorAt) + ": " + r.state.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", n, send, r.queue.Depth, ago(r.queue.Oldest), ago(r.state.LastSuccess), lastErr)
	}
	return tw.Flush()
}

func expireNow(ctx context.Context, st store.Upkeep, o *options, w io.Writer) error {
	now, start := time.Now(), time.Now()
	var stats store.ExpireStats
	ran, err := st.Exclusive(ctx, "expire", func(ctx context.Context) error {
		var err error
		stats, err = st.Expire(ctx, now.Add(-o.retention), now.Add(-o.historyRetention))
		return err
	})
	if err != nil {
		return err
	}
	if !ran {
		return errors.New("another front-end is expiring right now; nothing done")
	}
	fmt.Fprintf(w, "expired %d articles (older than %s) and %d history entries (older than %s) in %s\n",
		stats.Articles, formatDuration(o.retention), stats.History, formatDuration(o.historyRetention),
		time.Since(start).Round(time.Millisecond))
	return nil
}

// passwd prints "USER:HASH" for an --accounts file.
func passwd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nntpd passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hash := fs.String("hash", "bcrypt", "bcrypt or argon2id")
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage); fs.PrintDefaults() }
	// USER may come before or after the flags.
	var user string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		user, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if user == "" && fs.NArg() == 1 {
		user = fs.Arg(0)
	} else if fs.NArg() > 0 || user == "" {
		fs.Usage()
		return 2
	}
	if strings.ContainsAny(user, ": \t\r\n#") {
		fmt.Fprintln(stderr, "nntpd passwd: a user name cannot hold ':', '#' or white space")
		return 2
	}
	if *hash != "bcrypt" && *hash != "argon2id" {
		fmt.Fprintln(stderr, "nntpd passwd: --hash is bcrypt or argon2id")
		return 2
	}
	pass, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "nntpd passwd:", err)
		return 1
	}
	var line string
	switch *hash {
	case "bcrypt":
		h, err := bcrypt.GenerateFromPassword([]byte(pass), 12)
		if err != nil {
			fmt.Fprintln(stderr, "nntpd passwd:", err)
			return 1
		}
		line = string(h)
	case "argon2id":
		salt := make([]byte, 16)
		rand.Read(salt)
		line = inject.HashArgon2id(pass, salt, 64*1024, 3, 4) // RFC 9106's second set
	}
	fmt.Fprintf(stdout, "%s:%s\n", user, line)
	return 0
}

// readPassword reads a password without echo from a terminal (twice, to
// catch typing mistakes), or the first line of anything else.
func readPassword(stdin io.Reader, prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		if len(p1) == 0 {
			return "", errors.New("empty password")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty password (give it on the first line of standard input)")
	}
	return line, nil
}

// check validates what nntpd would need to start, without starting it
// or changing anything (no migrations), and prints one line per problem.
func check(ctx context.Context, o *options, parseErr error, w io.Writer) int {
	if parseErr != nil {
		fmt.Fprintf(w, "flags: %v\n", parseErr)
		return 1
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, a := range []struct{ flag, addr string }{{"--listen", o.listen}, {"--tls-listen", o.tlsListen}} {
		if a.addr == "" {
			continue
		}
		if _, err := net.ResolveTCPAddr("tcp", a.addr); err != nil {
			add("%s %s: %v", a.flag, a.addr, err)
		}
	}
	if o.accounts != "" {
		if _, err := inject.LoadAccounts(o.accounts); err != nil {
			add("--accounts: %v", err)
		}
	}
	npeers := 0
	if o.peers != "" {
		if f, err := peers.Load(o.peers); err != nil {
			add("--peers: %v", err)
		} else {
			npeers = len(f.Peers)
		}
	}
	if o.tlsCert != "" {
		cert, err := loadCert(o.tlsCert, o.tlsKey)
		if err != nil {
			add("%v", err)
		} else if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err != nil {
			add("--tls-cert: %v", err)
		} else {
			now := time.Now()
			switch {
			case now.After(leaf.NotAfter):
				add("--tls-cert: expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))
			case now.Add(certWarn).After(leaf.NotAfter):
				add("--tls-cert: expires on %s, in %d days", leaf.NotAfter.UTC().Format(time.DateOnly), int(leaf.NotAfter.Sub(now).Hours()/24))
			case now.Before(leaf.NotBefore):
				add("--tls-cert: not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
			}
			if err := leaf.VerifyHostname(o.name); err != nil {
				add("--tls-cert: not valid for --name %s (%v)", o.name, err)
			}
		}
	}
	if err := checkDB(ctx, o.db); err != nil {
		add("--db: %v", err)
	}
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	if len(problems) > 0 {
		return 1
	}
	fmt.Fprintf(w, "ok: %s reachable, %d peer(s), %d group(s) configured\n", storeKind(o.db), npeers, len(o.groupList()))
	return 0
}

// certWarn is how long before its expiry check reports a certificate.
const certWarn = 14 * 24 * time.Hour

// checkDB says whether the store can be opened, changing nothing.
func checkDB(ctx context.Context, dsn string) error {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		return checkSQLitePath(path)
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return fmt.Errorf("%q: want postgres://... or sqlite:PATH", redact(dsn))
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return fmt.Errorf("%s: %v", redact(dsn), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("%s: cannot connect: %v", redact(dsn), err)
	}
	return nil
}

func storeKind(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return "sqlite"
	}
	return "postgres"
}
