package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/gate"
	"github.com/altcrypt/altcrypt/hashcash"
	"github.com/altcrypt/altcrypt/inject"
	"github.com/altcrypt/altcrypt/news"
	"github.com/altcrypt/altcrypt/nntp"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/transit"
)

// options are nntpd's settings. Each flag can also come from the
// environment as ALTCRYPT_<FLAG> (upper case, dashes as underscores); a
// flag on the command line wins.
type options struct {
	listen, tlsListen, tlsCert, tlsKey string
	db                                 string
	name, domain, from, complaintsTo   string
	groups                             string
	releaseInterval                    time.Duration
	releaseMinBatch                    int
	maxESKs                            int
	transitHostTraces                  bool
	transitVisible                     bool
	transitMaxESKs                     int
	releaseMaxWait                     time.Duration
	retention, historyRetention        time.Duration
	accounts                           string
	peers                              string
	requireAuthToPost                  bool
	allowInsecureAuth                  bool
	idleTimeout                        time.Duration
	maxArticleSize                     int
	maxConnections, maxConnectionsIP   int
	logAddresses                       bool
	logLevel                           string
	hashcashBits                       int
	hashcashResource                   string
	dbWait                             time.Duration
	version                            bool
	probe                              bool
	metricsListen                      string
}

const envPrefix = "ALTCRYPT_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

const usageHead = `usage: nntpd [flags]

Serves alt.crypt.messages over NNTP. Every flag can also be given in the
environment as ALTCRYPT_<FLAG>, upper case with dashes as underscores
(--db: ALTCRYPT_DB, --tls-listen: ALTCRYPT_TLS_LISTEN); a flag on the
command line wins. An ALTCRYPT_ variable that names no flag is warned about.

Administration (acting on the store of --db, beside running servers):
nntpd groups | group add|remove NAME | peers | expire | passwd USER | check
(nntpd check --help lists them with what they do).

flags:
`

// otherToolsEnv are ALTCRYPT_ variables of the other commands (pool), not
// misspelled flags.
var otherToolsEnv = map[string]bool{"ALTCRYPT_HOME": true, "ALTCRYPT_SERVER": true}

// newFlagSet defines nntpd's flags on o.
func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("nntpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHead)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.listen, "listen", "127.0.0.1:1119", "address for plain NNTP (with STARTTLS when a certificate is given); empty to disable")
	fs.StringVar(&o.tlsListen, "tls-listen", "", "address for NNTPS (implicit TLS, usually :563)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&o.db, "db", "sqlite:altcrypt.db", "store: postgres://... or sqlite:PATH")
	fs.StringVar(&o.name, "name", "", "server name in Path, Injection-Info and Xref (default: the host name)")
	fs.StringVar(&o.domain, "domain", "", "domain of the Message-IDs we make (default: --name)")
	fs.StringVar(&o.from, "from", inject.DefaultFrom, "the From of every injected article")
	fs.StringVar(&o.complaintsTo, "complaints-to", "", "operator address announced in Injection-Info (optional)")
	fs.StringVar(&o.groups, "groups", inject.DefaultGroup, "groups carried, comma-separated")
	days := func(p *time.Duration, name string, def time.Duration, usage string) {
		*p = def
		fs.Var((*durationValue)(p), name, usage+" (Go duration or days, e.g. 30d)")
	}
	days(&o.releaseInterval, "release-interval", node.DefaultReleaseInterval, "how often posts are released in a shuffled batch; 0 releases at once")
	fs.IntVar(&o.releaseMinBatch, "release-min-batch", node.DefaultMinBatch, "hold posts until at least this many are pending (or --release-max-wait passes), so no post is published alone; 1: no hold")
	fs.IntVar(&o.maxESKs, "max-esks", inject.DefaultMaxInjectESKs, "the most session key packets (recipients and passphrases) a post may carry; more are refused (several-recipients): they link the recipients' keys")
	fs.BoolVar(&o.transitHostTraces, "transit-refuse-host-traces", false, "refuse fed articles carrying NNTP-Posting-Host, X-Trace, X-Originating-IP or an address in Injection-Info")
	fs.BoolVar(&o.transitVisible, "transit-refuse-visible-recipients", false, "refuse fed articles whose session key packets name their recipients")
	fs.IntVar(&o.transitMaxESKs, "transit-max-esks", 0, "refuse fed articles with more session key packets than this (0: no limit)")
	days(&o.releaseMaxWait, "release-max-wait", node.DefaultMaxWait, "the longest a post is held for --release-min-batch")
	days(&o.retention, "retention", news.DefaultRetention, "how long articles are kept")
	days(&o.historyRetention, "history-retention", news.DefaultHistoryRetention, "how long message-ids and body hashes are remembered, and the oldest date a peer's article may carry")
	days(&o.idleTimeout, "idle-timeout", nntp.DefaultIdleTimeout, "how long an idle connection is kept (RFC 3977: at least 3m)")
	fs.StringVar(&o.accounts, "accounts", "", "accounts file for AUTHINFO (user:bcrypt-or-argon2id-hash lines)")
	fs.StringVar(&o.peers, "peers", "", "peers file: who may feed us (IHAVE, CHECK/TAKETHIS) and whom we feed")
	fs.BoolVar(&o.requireAuthToPost, "require-auth-to-post", false, "refuse POST until the client logged in")
	fs.BoolVar(&o.allowInsecureAuth, "allow-insecure-auth", false, "allow AUTHINFO without TLS")
	fs.IntVar(&o.maxArticleSize, "max-article-size", gate.DefaultMaxBodySize, "largest article accepted, in bytes (also the ciphertext body limit)")
	fs.IntVar(&o.maxConnections, "max-connections", node.DefaultMaxConnections, "connections overall (0: no limit)")
	fs.IntVar(&o.maxConnectionsIP, "max-connections-per-ip", nntp.DefaultMaxConnectionsPerIP, "connections per client address, an IPv6 /64 counting as one; loopback is not counted (0: no limit)")
	fs.BoolVar(&o.logAddresses, "log-addresses", false, "log client addresses (off: never)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&o.hashcashBits, "hashcash-bits", 0, "ask every POST for an X-Hashcash stamp (version 1) of at least this many bits; 0: off")
	fs.StringVar(&o.hashcashResource, "hashcash-resource", "", "the resource X-Hashcash stamps must be minted for (default: --name)")
	days(&o.dbWait, "db-wait", time.Minute, "how long to keep retrying at start while PostgreSQL cannot be reached")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.probe, "probe", false, "health check: exit 0 if a server answers on --listen, 1 if not (for docker HEALTHCHECK)")
	fs.StringVar(&o.metricsListen, "metrics-listen", "", "address for Prometheus metrics at /metrics (HTTP; off when empty; never the NNTP port; keep it on loopback or a private network)")
	return fs
}

// unknownEnv lists the ALTCRYPT_ variables of environ that name no flag.
func unknownEnv(environ []string) []string {
	known := map[string]bool{}
	newFlagSet(&options{}, io.Discard).VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, envPrefix) && !known[k] && !otherToolsEnv[k] {
			out = append(out, k)
		}
	}
	return out
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := newFlagSet(o, stderr)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil {
			return
		}
		if v, ok := lookup(getenv, envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", envName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if o.name == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		o.name = h
	}
	if o.hashcashResource == "" {
		o.hashcashResource = o.name
	}
	if o.hashcashBits < 0 || o.hashcashBits > hashcash.MaxBits {
		return nil, fmt.Errorf("--hashcash-bits must be from 0 (off) to %d", hashcash.MaxBits)
	}
	if strings.ContainsAny(o.hashcashResource, ": \t\r\n") {
		return nil, errors.New("--hashcash-resource cannot contain ':' or white space")
	}
	if err := checkMetricsListen(o.metricsListen, o.listen, o.tlsListen); err != nil {
		return nil, err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if o.tlsListen != "" && o.tlsCert == "" {
		return nil, errors.New("--tls-listen needs --tls-cert and --tls-key")
	}
	if o.listen == "" && o.tlsListen == "" {
		return nil, errors.New("nothing to listen on: give --listen or --tls-listen")
	}
	if o.maxArticleSize < 1024 {
		return nil, errors.New("--max-article-size must be at least 1024")
	}
	if o.idleTimeout <= 0 {
		return nil, errors.New("--idle-timeout must be positive")
	}
	if o.maxESKs < 1 {
		return nil, errors.New("--max-esks must be at least 1")
	}
	if o.transitMaxESKs < 0 {
		return nil, errors.New("--transit-max-esks cannot be negative (0: no limit)")
	}
	if o.releaseMinBatch < 1 {
		return nil, errors.New("--release-min-batch must be at least 1 (1: no hold)")
	}
	return o, nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func (o *options) groupList() []string {
	var gs []string
	for _, g := range strings.Split(o.groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	return gs
}

// durationValue is a flag.Value for a time.Duration that also takes a
// whole number of days ("30d").
type durationValue time.Duration

func (d *durationValue) String() string { return formatDuration(time.Duration(*d)) }

// formatDuration writes whole days as "60d" and drops the zero tails Go
// prints ("3m0s" is "3m"), so -h shows what one would type.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d *durationValue) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100000 {
			return fmt.Errorf("bad number of days %q", s)
		}
		*d = durationValue(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return errors.New("negative duration")
	}
	*d = durationValue(v)
	return nil
}

// hashcash is the backend's hashcash setting: nil (off) unless
// --hashcash-bits is set.
func (o *options) hashcash() *inject.Hashcash {
	if o.hashcashBits == 0 {
		return nil
	}
	return &inject.Hashcash{Bits: o.hashcashBits, Resource: o.hashcashResource}
}

// nodeConfig is the node the options describe, with the files fl read.
// Flags say 0 for "no limit" where node.Config says a negative number.
func (o *options) nodeConfig(fl *files, log *slog.Logger) node.Config {
	noLimit := func(n int) int { return cmp.Or(n, -1) }
	return node.Config{
		Name:                o.name,
		Domain:              o.domain,
		From:                o.from,
		Groups:              o.groupList(),
		ReleaseInterval:     o.releaseInterval,
		MinBatch:            o.releaseMinBatch,
		MaxWait:             o.releaseMaxWait,
		MaxInjectESKs:       o.maxESKs,
		Retention:           o.retention,
		HistoryRetention:    o.historyRetention,
		MaxArticleSize:      o.maxArticleSize,
		Hashcash:            o.hashcash(),
		IdleTimeout:         o.idleTimeout,
		MaxConnections:      noLimit(o.maxConnections),
		MaxConnectionsPerIP: noLimit(o.maxConnectionsIP),
		TLS:                 fl.tls,
		AllowInsecureAuth:   o.allowInsecureAuth,
		LogAddresses:        o.logAddresses,
		Accounts:            fl.accounts,
		RequireAuthToPost:   o.requireAuthToPost,
		MailComplaintsTo:    o.complaintsTo,
		Peers:               fl.peers,
		TransitPrivacy: transit.Privacy{
			RefuseHostTraces:        o.transitHostTraces,
			RefuseVisibleRecipients: o.transitVisible,
			MaxESKs:                 o.transitMaxESKs,
		},
		Logger: log,
	}
}
