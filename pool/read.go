package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/altcrypt/altcrypt/hsub"
	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/spool"
	"github.com/altcrypt/altcrypt/pool/trial"
)

// ReadOptions tune Read.
type ReadOptions struct {
	// Workers is the number of trial-decryption workers; GOMAXPROCS when 0.
	Workers int
	// Again examines every stored article, not only the new ones, and does
	// not move the examined mark.
	Again bool
	// KeyPassphrase unlocks secret keys protected by a passphrase.
	KeyPassphrase []byte
	// Keys, when set, are keys unlocked before (Client.Keys) and used
	// instead of the ones on disk: pool run unlocks once and keeps them in
	// memory for its lifetime, as an agent would.
	Keys *trial.Keys
}

// Found is one message that a local key or passphrase opened.
type Found struct {
	Server    string // the server the article came from
	Number    int64  // its article number there
	Date      time.Time
	MessageID string
	Subject   string
	Hsub      bool // the Subject matched a contact's hsub secret
	Symmetric bool // opened with a passphrase
	Key       string
	Plaintext []byte
	// From is the contact the message is from, as far as known: the one
	// whose good signature it carries, else the one whose hsub secret
	// tagged its Subject; "" when unknown. FromHow says which.
	From, FromHow string
	// Signature is "unsigned", "good signature by NAME", "signed by an
	// unknown key 0x..." or "BAD signature (...)".
	Signature string
}

// ReadStats sums up a Read.
type ReadStats struct {
	Examined   int64 // articles looked at
	HsubMatch  int64 // of which the Subject matched an hsub secret
	Found      int64 // messages opened
	Unreadable int64 // stored bodies that are not OpenPGP
	Duplicates int64 // found again under the same Message-ID (another server)
	Elapsed    time.Duration
}

// Keys loads the local secret keys, unlocked with passphrase where needed,
// and the passphrases for symmetric messages, ready for trial decryption.
func (c *Client) Keys(passphrase []byte) (*trial.Keys, error) {
	el, err := c.Home.SecretKeys()
	if err != nil {
		return nil, err
	}
	locked := home.Unlock(el, passphrase)
	pass, err := c.Home.Passphrases()
	if err != nil {
		return nil, err
	}
	k, err := trial.New(el, pass)
	if err != nil {
		return nil, err
	}
	if k.Len() == 0 && len(pass) == 0 {
		if locked > 0 {
			return nil, fmt.Errorf("pool: %d secret keys are protected by a passphrase; give it with --key-passphrase-file", locked)
		}
		return nil, errors.New("pool: no secret key (pool keygen, or pool import FILE)")
	}
	if locked > 0 {
		c.progressf("pool: %d secret keys stay locked (wrong or missing passphrase); their messages will not be found", locked)
	}
	return k, nil
}

// Read examines the stored articles not yet examined, in every local store:
// articles whose Subject matches a contact's hsub secret first, then trial
// decryption of all the rest with every local key, on all cores. It calls fn
// for each message found, in article order within each store, and records
// progress after each window of articles, so an interrupted Read resumes
// where it stopped.
func (c *Client) Read(ctx context.Context, opt ReadOptions, fn func(*Found) error) (ReadStats, error) {
	start := time.Now()
	var st ReadStats
	var keys *trial.Keys
	if opt.Keys != nil {
		k := *opt.Keys // the contacts are added to a copy: Read may run again
		k.Signers = slices.Clone(k.Signers)
		keys = &k
	} else {
		var err error
		if keys, err = c.Keys(opt.KeyPassphrase); err != nil {
			return st, err
		}
	}
	contacts, err := c.Home.Contacts()
	if err != nil {
		return st, err
	}
	var secrets [][]byte
	var hsubNames []string
	for _, ct := range contacts {
		if ct.Hsub != nil {
			secrets = append(secrets, ct.Hsub)
			hsubNames = append(hsubNames, ct.Name)
		}
		if ct.Entity != nil {
			keys.Signers = append(keys.Signers, ct.Entity)
		}
	}
	sent, err := c.sentSubjects()
	if err != nil {
		return st, err
	}
	dirs, err := filepath.Glob(filepath.Join(c.Home.SpoolDir(), "*", "sync.json"))
	if err != nil {
		return st, err
	}
	if len(dirs) == 0 {
		return st, errors.New("pool: nothing downloaded yet (pool sync --server HOST:PORT)")
	}
	sort.Strings(dirs)
	seen, err := c.openFoundLog(opt.Again)
	if err != nil {
		return st, err
	}
	defer seen.close()
	inner := fn
	fn = func(f *Found) error {
		if f.MessageID != "" && seen.has(f.MessageID) {
			st.Duplicates++
			return nil
		}
		st.Found++
		if err := inner(f); err != nil {
			return err
		}
		return seen.add(f.MessageID)
	}
	sc := &scanner{keys: keys, matcher: hsub.NewMatcher(secrets...), hasSecrets: len(secrets) > 0, workers: opt.Workers,
		hsubNames: hsubNames, contacts: contacts, sent: sent}
	if sc.workers <= 0 {
		sc.workers = runtime.GOMAXPROCS(0)
	}
	for _, f := range dirs {
		if err := c.readSpool(ctx, filepath.Dir(f), opt, sc, &st, fn); err != nil {
			st.Elapsed = time.Since(start)
			return st, err
		}
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

func (c *Client) readSpool(ctx context.Context, dir string, opt ReadOptions, sc *scanner, st *ReadStats, fn func(*Found) error) error {
	r, err := spool.OpenReader(dir)
	if err != nil {
		return err
	}
	server := r.State().Server
	var from spool.Position
	if !opt.Again {
		unlock, err := r.LockRead()
		if err != nil {
			return err
		}
		defer unlock()
		if from, err = r.Examined(); err != nil {
			return err
		}
	}
	if from == r.End() {
		return nil
	}
	total := r.Pending(from)
	var done atomic.Int64
	defer c.startProgress(func() string {
		return fmt.Sprintf("pool read %s: %d of about %d articles examined", server, done.Load(), total)
	})()
	sc.done = &done
	return r.Scan(from, func(batch []spool.Record, end spool.Position) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		found, bs := sc.batch(batch)
		st.Examined += int64(len(batch))
		st.HsubMatch += bs.hsub
		st.Unreadable += bs.unreadable
		for _, f := range found {
			f.Server = server
			if err := fn(f); err != nil {
				return err
			}
		}
		if !opt.Again {
			return r.SetExamined(end)
		}
		return nil
	})
}

// scanner runs one window of records through hsub matching and trial
// decryption.
type scanner struct {
	keys       *trial.Keys
	matcher    *hsub.Matcher
	hasSecrets bool
	workers    int
	done       *atomic.Int64
	hsubNames  []string        // contact of each hsub secret, by matcher index
	contacts   []*home.Contact // for naming signers
	sent       map[string]bool // Subjects of our own posts: not matches
}

type batchStats struct{ hsub, unreadable int64 }

func (sc *scanner) batch(recs []spool.Record) ([]*Found, batchStats) {
	var bs batchStats
	// First pass, on all cores: which Subjects carry a contact's hsub tag.
	isHsub := make([]bool, len(recs))
	hsubIdx := make([]int, len(recs))
	if sc.hasSecrets {
		sc.parallel(len(recs), func(i int) {
			// Our own posts carry our contacts' tags too; they are not
			// messages for us.
			hsubIdx[i] = sc.matcher.Match(recs[i].Subject)
			isHsub[i] = hsubIdx[i] >= 0 && !sc.sent[recs[i].Subject]
		}, false)
	}
	// Work order: hsub matches first, then everything else.
	order := make([]int32, 0, len(recs))
	for i := range recs {
		if isHsub[i] {
			order = append(order, int32(i))
			bs.hsub++
		}
	}
	for i := range recs {
		if !isHsub[i] {
			order = append(order, int32(i))
		}
	}
	results := make([]*Found, len(recs))
	var unreadable atomic.Int64
	sc.parallel(len(order), func(j int) {
		idx := order[j]
		rec := &recs[idx]
		if rec.Kind != spool.KindOpenPGP {
			unreadable.Add(1)
			return
		}
		results[idx] = sc.examine(rec, isHsub[idx])
		if f := results[idx]; f != nil {
			sc.attribute(f, hsubIdx[idx])
		}
	}, true)
	bs.unreadable = unreadable.Load()
	var found []*Found
	for _, f := range results {
		if f != nil {
			found = append(found, f)
		}
	}
	return found, bs
}

// parallel runs fn(0..n-1) on sc.workers goroutines, in chunks taken in
// order; count adds to the progress counter.
func (sc *scanner) parallel(n int, fn func(int), count bool) {
	const chunk = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < sc.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				hi := min(lo+chunk, n)
				for i := lo; i < hi; i++ {
					fn(i)
				}
				if count && sc.done != nil {
					sc.done.Add(int64(hi - lo))
				}
			}
		}()
	}
	wg.Wait()
}

func (sc *scanner) examine(rec *spool.Record, tagged bool) *Found {
	hit, ok := sc.keys.Probe(rec.Body)
	if !ok {
		if !tagged {
			return nil
		}
		// The tag says a contact sent it: try everything we have.
		hit = trial.Hit{}
	}
	m, err := sc.keys.Open(rec.Body, hit)
	if err != nil {
		return nil
	}
	f := &Found{
		Number:    rec.Number,
		MessageID: rec.MessageID,
		Subject:   rec.Subject,
		Hsub:      tagged,
		Symmetric: m.Entity == nil,
		Plaintext: m.Plaintext,
	}
	if rec.Date != 0 {
		f.Date = time.Unix(rec.Date, 0).UTC()
	}
	if m.Entity != nil {
		f.Key = fmt.Sprintf("%X", m.Entity.PrimaryKey.Fingerprint)
	}
	switch {
	case !m.Signed:
		f.Signature = "unsigned"
	case m.SignatureError != nil:
		f.Signature = fmt.Sprintf("BAD signature (%v)", m.SignatureError)
	case m.SignedBy == nil:
		f.Signature = fmt.Sprintf("signed by an unknown key 0x%016X", m.SignerKeyID)
	default:
		f.From, f.FromHow = sc.signerName(m.SignedBy), "signature"
		f.Signature = "good signature by " + f.From
	}
	return f
}

// attribute names the sender from the hsub tag when no signature did.
func (sc *scanner) attribute(f *Found, hsubIdx int) {
	if f.From == "" && f.Hsub && hsubIdx >= 0 && hsubIdx < len(sc.hsubNames) {
		f.From, f.FromHow = sc.hsubNames[hsubIdx], "hsub"
	}
}

// signerName is the contact whose key e is, "you" for a local key, else
// the key's fingerprint.
func (sc *scanner) signerName(e *openpgp.Entity) string {
	for _, ct := range sc.contacts {
		if ct.Entity != nil && bytes.Equal(ct.Entity.PrimaryKey.Fingerprint, e.PrimaryKey.Fingerprint) {
			return ct.Name
		}
	}
	if e.PrivateKey != nil {
		return "you"
	}
	return fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
}

// foundLog remembers the Message-IDs of the messages already reported, so a
// message fetched from two servers is reported once. It is a file of
// Message-IDs, one a line, appended to and fsynced as messages are found.
type foundLog struct {
	ids map[string]bool
	f   *os.File
}

func (c *Client) openFoundLog(readOnly bool) (*foundLog, error) {
	l := &foundLog{ids: map[string]bool{}}
	path := filepath.Join(c.Home.Dir, "found")
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, id := range strings.Split(string(data), "\n") {
		if id != "" {
			l.ids[id] = true
		}
	}
	if readOnly {
		l.ids = map[string]bool{} // --again reports everything
		return l, nil
	}
	if l.f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *foundLog) has(id string) bool { return l.ids[id] }

func (l *foundLog) add(id string) error {
	if id == "" || l.ids[id] || strings.ContainsAny(id, "\r\n") {
		return nil
	}
	l.ids[id] = true
	if l.f == nil {
		return nil
	}
	if _, err := l.f.WriteString(id + "\n"); err != nil {
		return err
	}
	return l.f.Sync()
}

func (l *foundLog) close() {
	if l.f != nil {
		l.f.Close()
	}
}
