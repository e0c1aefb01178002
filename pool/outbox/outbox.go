// Package outbox keeps messages that wait to be posted later, in the pool
// directory, so that a post does not leave when its author writes it.
//
// Each message is one file, written whole (temporary file, fsync, rename,
// fsync of the directory) before Add returns, and removed only once the
// server has it. A crash at any point therefore loses nothing; the only
// case where the client cannot know is a crash between the server's 240
// and the removal, and then the next attempt posts the same bytes, which
// a server that refuses replays (nntpd does, by body) answers "441
// replay": the caller counts that as posted. So each message reaches the
// group exactly once.
//
// Layout under the outbox directory:
//
//	q/<id>       a message waiting: a short header, a blank line, the article
//	failed/<id>  a message a server refused for good, with the reason
//	lock         held (flock) by whoever is posting from the outbox
package outbox

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/altcrypt/altcrypt/pool/internal/atomicfile"
)

// Message is one queued article.
type Message struct {
	ID       string
	Server   string    // where to post it
	Due      time.Time // not before
	Attempts int       // posts tried so far (a crash may hide whether one arrived)
	Article  []byte
}

// Outbox is an opened outbox directory.
type Outbox struct {
	dir string
}

const magic = "altcrypt-outbox 1"

// Open opens (creating if needed) the outbox in dir.
func Open(dir string) (*Outbox, error) {
	for _, d := range []string{dir, filepath.Join(dir, "q"), filepath.Join(dir, "failed")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
	}
	return &Outbox{dir: dir}, nil
}

// Dir is the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

func (o *Outbox) path(id string) string { return filepath.Join(o.dir, "q", id) }

// Add queues article for server, not to be posted before due. It is on
// disk when Add returns.
func (o *Outbox) Add(article []byte, server string, due time.Time) (*Message, error) {
	if strings.ContainsAny(server, "\r\n") || server == "" {
		return nil, fmt.Errorf("outbox: bad server %q", server)
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	m := &Message{ID: hex.EncodeToString(b[:]), Server: server, Due: due, Article: article}
	return m, o.write(m)
}

func (o *Outbox) write(m *Message) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nserver %s\ndue %d\nattempts %d\n\n", magic, m.Server, m.Due.UnixNano(), m.Attempts)
	b.Write(m.Article)
	if err := atomicfile.Write(o.path(m.ID), b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// parse reads a message file.
func parse(id string, data []byte) (*Message, error) {
	head, article, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, errors.New("no blank line after the header")
	}
	m := &Message{ID: id, Article: article}
	sc := bufio.NewScanner(bytes.NewReader(head))
	if !sc.Scan() || sc.Text() != magic {
		return nil, errors.New("not an outbox file")
	}
	seen := map[string]bool{}
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if seen[k] {
			return nil, fmt.Errorf("%s twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "server":
			m.Server = v
		case "due":
			var n int64
			n, err = strconv.ParseInt(v, 10, 64)
			m.Due = time.Unix(0, n)
		case "attempts":
			m.Attempts, err = strconv.Atoi(v)
		default:
			err = errors.New("unknown field")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
	}
	if m.Server == "" || !seen["due"] || !seen["attempts"] || m.Attempts < 0 {
		return nil, errors.New("incomplete header")
	}
	return m, nil
}

// List returns the queued messages, earliest due first. Files that are
// not outbox messages (an editor's backup, a temporary file of a write
// that a crash interrupted) are left alone.
func (o *Outbox) List() ([]*Message, error) {
	ents, err := os.ReadDir(filepath.Join(o.dir, "q"))
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	var out []*Message
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(o.path(e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // posted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		m, err := parse(e.Name(), data)
		if err != nil {
			return nil, fmt.Errorf("outbox: %s: %v", o.path(e.Name()), err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Due.Equal(out[j].Due) {
			return out[i].Due.Before(out[j].Due)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Attempting records, durably, that m is about to be posted.
func (o *Outbox) Attempting(m *Message) error {
	m.Attempts++
	return o.write(m)
}

// Posted removes m: the server has it.
func (o *Outbox) Posted(m *Message) error {
	if err := os.Remove(o.path(m.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("outbox: %w", err)
	}
	return atomicfile.SyncDir(filepath.Join(o.dir, "q"))
}

// Retry puts m back to be tried again at at.
func (o *Outbox) Retry(m *Message, at time.Time) error {
	m.Due = at
	return o.write(m)
}

// Failed moves m to failed/ with the reason a server gave: it will not be
// tried again.
func (o *Outbox) Failed(m *Message, reason string) error {
	dst := filepath.Join(o.dir, "failed", m.ID)
	note := []byte("# refused: " + strings.ReplaceAll(reason, "\n", " ") + "\n")
	if err := atomicfile.Write(dst+".reason", note, 0o600); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := os.Rename(o.path(m.ID), dst); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Join(o.dir, "failed")); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Join(o.dir, "q"))
}

// ErrBusy means another process is posting from the outbox.
var ErrBusy = errors.New("outbox: another pool process (pool run?) is posting from the outbox")

// Lock takes the outbox for posting, without waiting: ErrBusy if another
// process holds it. The kernel lets go of it when the process dies, so a
// killed pool run leaves nothing to clean up.
func (o *Outbox) Lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(o.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("outbox: lock: %w", err)
	}
	o.sweep()
	return func() { f.Close() }, nil
}

// sweep removes what writes interrupted by a crash left behind: temporary
// files, once old enough that no write can still be going on.
func (o *Outbox) sweep() {
	q := filepath.Join(o.dir, "q")
	ents, _ := os.ReadDir(q)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), ".tmp") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.Remove(filepath.Join(q, e.Name()))
		}
	}
}

// Exp draws an exponentially distributed duration with the given mean
// from rnd (crypto/rand when nil): the delay before a queued message is
// posted, and the gap between cover posts (a Poisson process). Its
// memorylessness is the point: how long a message has waited says
// nothing about when it will leave.
func Exp(mean time.Duration, rnd io.Reader) time.Duration {
	if mean <= 0 {
		return 0
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	// u in (0, 1]: never 0, so the logarithm is finite.
	u := float64(binary.BigEndian.Uint64(b[:])>>11+1) / (1 << 53)
	d := -math.Log(u) * float64(mean)
	if d > float64(math.MaxInt64/2) {
		d = float64(math.MaxInt64 / 2)
	}
	return time.Duration(d)
}

// Shape is what an observer without the recipient's key can see of a post
// beyond its time: the kind of the recipient's key, the session cipher
// where the packets show it, and the size bucket. Cover posts copy the
// shapes of real ones.
type Shape struct {
	Key    string // the recipient key's kind, e.g. "v4/18/Curve25519"
	Cipher int    // the session cipher (an OpenPGP cipher number)
	Bucket int    // the padded size of the content
}

func (s Shape) valid() bool {
	return s.Key != "" && !strings.ContainsAny(s.Key, " \t\r\n") && s.Cipher > 0 && s.Bucket > 0
}

// shapesFile counts the shapes of the messages queued, without times or
// recipients: enough for cover posts to look like them.
const shapesFile = "shapes"

// Shapes returns how many queued messages had each shape.
func (o *Outbox) Shapes() (map[Shape]int, error) {
	data, err := os.ReadFile(filepath.Join(o.dir, shapesFile))
	if errors.Is(err, os.ErrNotExist) {
		return map[Shape]int{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	out := map[Shape]int{}
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		var s Shape
		var n int
		var e1, e2, e3 error
		if len(f) == 4 {
			s.Key = f[0]
			s.Cipher, e1 = strconv.Atoi(f[1])
			s.Bucket, e2 = strconv.Atoi(f[2])
			n, e3 = strconv.Atoi(f[3])
		}
		if len(f) != 4 || e1 != nil || e2 != nil || e3 != nil || !s.valid() || n <= 0 {
			return nil, fmt.Errorf("outbox: %s line %d: want KEY CIPHER BUCKET COUNT", shapesFile, i+1)
		}
		out[s] += n
	}
	return out, nil
}

// NoteShape counts one more message of shape s.
func (o *Outbox) NoteShape(s Shape) error {
	if !s.valid() {
		return fmt.Errorf("outbox: bad shape %+v", s)
	}
	m, err := o.Shapes()
	if err != nil {
		return err
	}
	m[s]++
	keys := make([]Shape, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Cipher != b.Cipher {
			return a.Cipher < b.Cipher
		}
		return a.Bucket < b.Bucket
	})
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d %d %d\n", k.Key, k.Cipher, k.Bucket, m[k])
	}
	return atomicfile.Write(filepath.Join(o.dir, shapesFile), b.Bytes(), 0o600)
}

// SampleShape draws a shape with the frequencies counted so far (rnd:
// crypto/rand when nil); ok is false when nothing was counted yet.
func SampleShape(counts map[Shape]int, rnd io.Reader) (s Shape, ok bool) {
	keys := make([]Shape, 0, len(counts))
	total := 0
	for k, n := range counts {
		keys = append(keys, k)
		total += n
	}
	if total == 0 {
		return Shape{}, false
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		panic(err)
	}
	x := int(binary.BigEndian.Uint64(b[:]) % uint64(total))
	for _, k := range keys {
		if x < counts[k] {
			return k, true
		}
		x -= counts[k]
	}
	return keys[len(keys)-1], true
}
