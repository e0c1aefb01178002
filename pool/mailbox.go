package pool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/altcrypt/altcrypt/pool/home"
	"github.com/altcrypt/altcrypt/pool/internal/atomicfile"
	"github.com/altcrypt/altcrypt/pool/seal"
)

// The pool home keeps what a mail client keeps: inbox/ holds each message
// found (one file each: a few header lines, a blank line, the text) and
// sent/ a copy of each message composed. sent-subjects lists the Subjects
// of our own articles, so that Read does not count them as hsub matches
// (they carry our contacts' tags).

// ComposeOptions tune ComposeWith.
type ComposeOptions struct {
	// Sign signs the message with the first local secret key, inside the
	// encryption: only the recipient learns who signed.
	Sign bool
	// KeyPassphrase unlocks a protected signing key.
	KeyPassphrase []byte
}

// SigningKeyLocked reports whether the key Sign would use is protected
// by a passphrase (so the caller knows to ask for one).
func (c *Client) SigningKeyLocked() bool {
	el, err := c.Home.SecretKeys()
	return err == nil && len(el) > 0 && el[0].PrivateKey != nil && el[0].PrivateKey.Encrypted
}

// ComposeWith is Compose with options.
func (c *Client) ComposeWith(to string, plaintext []byte, opt ComposeOptions, rnd io.Reader) ([]byte, error) {
	ct, err := c.Home.Contact(to)
	if err != nil {
		return nil, err
	}
	if ct.Entity == nil {
		return nil, fmt.Errorf("pool: contact %s has no public key (pool import --contact %s FILE)", to, to)
	}
	var msg []byte
	if opt.Sign {
		el, err := c.Home.SecretKeys()
		if err != nil {
			return nil, err
		}
		if len(el) == 0 {
			return nil, errors.New("pool: no secret key to sign with (pool keygen)")
		}
		if len(opt.KeyPassphrase) > 0 {
			home.Unlock(el[:1], opt.KeyPassphrase)
		}
		if el[0].PrivateKey != nil && el[0].PrivateKey.Encrypted {
			return nil, errors.New("pool: the signing key is protected; give its passphrase (--key-passphrase-file)")
		}
		msg, err = seal.SealSigned(ct.Entity, el[0], plaintext, rnd)
		if err != nil {
			return nil, err
		}
	} else if msg, err = seal.Seal(ct.Entity, plaintext, rnd); err != nil {
		return nil, err
	}
	art, err := c.article(msg, ct.Hsub, rnd)
	if err != nil {
		return nil, err
	}
	if err := c.saveSent(to, subjectOf(art), opt.Sign, plaintext); err != nil {
		return nil, err
	}
	return art, nil
}

// LargestFit is the largest plaintext, in octets, that a message can
// carry to a server taking bodies of maxBody octets (armor included).
func LargestFit(maxBody int) int {
	lo, hi := 0, seal.MaxPlaintext
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if armoredSize(mid) <= maxBody {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// armoredSize is the armored body size of a message with n octets of
// plaintext to a Curve25519 key, as a server stores it: the padded bucket,
// the session key packet and the encryption overhead, in base64 lines of
// 64 columns ending in CRLF. It errs on the large side by a few octets.
func armoredSize(n int) int {
	hl := 6
	switch {
	case 6+n < 192:
		hl = 2
	case 6+n < 8384:
		hl = 3
	}
	content := seal.Bucket(hl + 6 + n)
	bin := 100 + 6 + 1 + 18 + content + 22
	b64 := (bin + 2) / 3 * 4
	lines := (b64 + 63) / 64
	return len("-----BEGIN PGP MESSAGE-----\r\n\r\n") + b64 + 2*lines + len("=XXXX\r\n-----END PGP MESSAGE-----\r\n")
}

func subjectOf(article []byte) string {
	for _, l := range strings.Split(string(article), "\r\n") {
		if l == "" {
			break
		}
		if v, ok := strings.CutPrefix(l, "Subject: "); ok {
			return v
		}
	}
	return ""
}

// saveSent keeps a copy of a composed message and its Subject.
func (c *Client) saveSent(to, subject string, signed bool, text []byte) error {
	head := []string{"Date: " + time.Now().UTC().Format(dateLayout), "To: " + to, "Subject: " + subject}
	if signed {
		head = append(head, "Signature: signed")
	}
	if _, err := c.saveEntry("sent", head, text); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(c.Home.Dir, "sent-subjects"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteString(subject + "\n"); err != nil {
		return err
	}
	return f.Sync()
}

// sentSubjects reads the Subjects of our own articles.
func (c *Client) sentSubjects() (map[string]bool, error) {
	data, err := os.ReadFile(filepath.Join(c.Home.Dir, "sent-subjects"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, s := range strings.Split(string(data), "\n") {
		if s != "" {
			m[s] = true
		}
	}
	return m, nil
}

const dateLayout = "2006-01-02 15:04:05 UTC"

// SaveInbox keeps a found message in the inbox and returns its number.
func (c *Client) SaveInbox(f *Found) (int, error) {
	date := "unknown"
	if !f.Date.IsZero() {
		date = f.Date.UTC().Format(dateLayout)
	}
	from := "unknown"
	if f.From != "" {
		from = f.From + " (" + f.FromHow + ")"
	}
	head := []string{"Date: " + date, "From: " + from, "Signature: " + f.Signature,
		"Message-ID: " + f.MessageID, "Article: " + f.Server + " " + strconv.FormatInt(f.Number, 10)}
	return c.saveEntry("inbox", head, f.Plaintext)
}

// saveEntry writes the next numbered file of folder.
func (c *Client) saveEntry(folder string, head []string, text []byte) (int, error) {
	dir := filepath.Join(c.Home.Dir, folder)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	nums, err := entryNumbers(dir)
	if err != nil {
		return 0, err
	}
	n := 1
	if len(nums) > 0 {
		n = nums[len(nums)-1] + 1
	}
	var b bytes.Buffer
	for _, h := range head {
		b.WriteString(strings.Map(noNewline, h) + "\n")
	}
	b.WriteString("\n")
	b.Write(text)
	return n, atomicfile.Write(filepath.Join(dir, fmt.Sprintf("%06d.msg", n)), b.Bytes(), 0o600)
}

func noNewline(r rune) rune {
	if r == '\n' || r == '\r' {
		return ' '
	}
	return r
}

func entryNumbers(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var nums []int
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".msg")); err == nil && strings.HasSuffix(e.Name(), ".msg") {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	return nums, nil
}

// Entry is one message of the inbox or the sent folder.
type Entry struct {
	Number int
	Header map[string]string // Date, From or To, Signature, Subject, Message-ID, Article
	Text   []byte
}

// Folder lists the entries of "inbox" or "sent", oldest first.
func (c *Client) Folder(folder string) ([]*Entry, error) {
	if folder != "inbox" && folder != "sent" {
		return nil, fmt.Errorf("pool: no folder %q", folder)
	}
	dir := filepath.Join(c.Home.Dir, folder)
	nums, err := entryNumbers(dir)
	if err != nil {
		return nil, err
	}
	var out []*Entry
	for _, n := range nums {
		e, err := c.readEntry(dir, n)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// InboxEntry returns inbox message n.
func (c *Client) InboxEntry(n int) (*Entry, error) {
	e, err := c.readEntry(filepath.Join(c.Home.Dir, "inbox"), n)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pool: no message %d in the inbox (pool inbox lists them)", n)
	}
	return e, err
}

func (c *Client) readEntry(dir string, n int) (*Entry, error) {
	data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%06d.msg", n)))
	if err != nil {
		return nil, err
	}
	e := &Entry{Number: n, Header: map[string]string{}}
	r := bufio.NewReader(bytes.NewReader(data))
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\n")
		if line == "" || err != nil {
			break
		}
		if k, v, ok := strings.Cut(line, ": "); ok {
			e.Header[k] = v
		}
	}
	e.Text, _ = io.ReadAll(r)
	return e, nil
}

// Sender is the contact an inbox entry came from, or an error saying why
// a reply cannot be addressed.
func (e *Entry) Sender() (string, error) {
	from := e.Header["From"]
	name, _, _ := strings.Cut(from, " (")
	if name == "" || name == "unknown" || name == "you" {
		return "", fmt.Errorf("pool: message %d is from an unknown sender; reply with pool send --to CONTACT", e.Number)
	}
	if home.CheckName(name) != nil {
		return "", fmt.Errorf("pool: message %d is signed by key %s, not a contact; import it with pool import --contact NAME", e.Number, name)
	}
	return name, nil
}
