package inject

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Accounts holds the users who may log in with AUTHINFO USER/PASS: one
// "user:hash" per line, the hash in bcrypt ($2a$, $2b$, $2y$) or argon2id
// ($argon2id$v=19$m=..,t=..,p=..$salt$hash) form; "#" starts a comment.
type Accounts struct {
	mu    sync.RWMutex // Replace may swap the set while sessions verify
	users map[string]passwordHash
	// decoy is checked when the user is unknown, so that an unknown user
	// costs as much time as a known one with a wrong password.
	decoy passwordHash
	// lines keeps each user's hash as written, to tell what a reload
	// changed.
	lines map[string]string
}

// Replace makes a hold n's accounts (nntpd reloads its accounts file on
// SIGHUP), and reports the user names added, removed and whose hash
// changed. Sessions already logged in stay logged in.
func (a *Accounts) Replace(n *Accounts) (added, removed, changed []string) {
	n.mu.RLock()
	users, decoy, lines := n.users, n.decoy, n.lines
	n.mu.RUnlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	for u, h := range lines {
		old, ok := a.lines[u]
		switch {
		case !ok:
			added = append(added, u)
		case old != h:
			changed = append(changed, u)
		}
	}
	for u := range a.lines {
		if _, ok := lines[u]; !ok {
			removed = append(removed, u)
		}
	}
	a.users, a.decoy, a.lines = users, decoy, lines
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}

// Limits of an accounts file, against a mistaken path (a huge file) and
// against argon2 parameters that would exhaust the machine on each login.
const (
	maxAccountsFileSize = 4 << 20
	maxArgon2Memory     = 4 << 20 // KiB: 4 GiB
	maxArgon2Time       = 64
)

// LoadAccounts reads an accounts file.
func LoadAccounts(path string) (*Accounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := ParseAccounts(io.LimitReader(f, maxAccountsFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ParseAccounts parses accounts in the file format.
func ParseAccounts(r io.Reader) (*Accounts, error) {
	a := &Accounts{users: make(map[string]passwordHash), lines: make(map[string]string)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	n := 0
	size := 0
	for sc.Scan() {
		n++
		size += len(sc.Bytes()) + 1
		if size > maxAccountsFileSize {
			return nil, errors.New("accounts file too large")
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || strings.ContainsAny(user, " \t") {
			return nil, fmt.Errorf("line %d: want user:hash", n)
		}
		if _, dup := a.users[user]; dup {
			return nil, fmt.Errorf("line %d: user %q listed twice", n, user)
		}
		h, err := parseHash(hash)
		if err != nil {
			return nil, fmt.Errorf("line %d (user %q): %w", n, user, err)
		}
		a.users[user] = h
		a.lines[user] = hash
		if a.decoy == nil {
			a.decoy = h
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// Len returns the number of accounts.
func (a *Accounts) Len() int {
	if a == nil {
		return 0
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.users)
}

// Verify reports whether user and pass match an account. Unknown users
// are checked against a real hash too, so timing does not tell whether a
// user exists.
func (a *Accounts) Verify(user, pass string) bool {
	if a == nil {
		return false
	}
	a.mu.RLock()
	h, known := a.users[user]
	decoy := a.decoy
	a.mu.RUnlock()
	if decoy == nil {
		return false
	}
	if !known {
		decoy.verify(pass)
		return false
	}
	return h.verify(pass)
}

type passwordHash interface {
	verify(pass string) bool
}

func parseHash(s string) (passwordHash, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("bad bcrypt hash: %w", err)
		}
		return bcryptHash(s), nil
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	}
	return nil, errors.New("unknown hash format (want bcrypt $2a$/$2b$/$2y$ or $argon2id$)")
}

type bcryptHash []byte

func (h bcryptHash) verify(pass string) bool {
	return bcrypt.CompareHashAndPassword(h, []byte(pass)) == nil
}

type argon2idHash struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parseArgon2id parses the PHC string form that the argon2 reference tool
// and libraries write: $argon2id$v=19$m=65536,t=3,p=4$salt$hash (base64
// without padding).
func parseArgon2id(s string) (passwordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return nil, errors.New("bad argon2id hash: want $argon2id$v=19$m=..,t=..,p=..$salt$hash")
	}
	if parts[2] != "v=19" {
		return nil, errors.New("bad argon2id hash: only version 19 is supported")
	}
	h := &argon2idHash{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, errors.New("bad argon2id parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad argon2id parameter %s", k)
		}
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n > 255 {
				return nil, errors.New("bad argon2id parameter p")
			}
			h.threads = uint8(n)
		default:
			return nil, fmt.Errorf("unknown argon2id parameter %s", k)
		}
	}
	if h.memory == 0 || h.time == 0 || h.threads == 0 || h.memory > maxArgon2Memory || h.time > maxArgon2Time {
		return nil, errors.New("argon2id parameters m, t, p missing or out of range")
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return nil, errors.New("bad argon2id salt")
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return nil, errors.New("bad argon2id hash value")
	}
	return h, nil
}

func (h *argon2idHash) verify(pass string) bool {
	got := argon2.IDKey([]byte(pass), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// HashArgon2id makes an accounts-file hash for pass with the given salt
// and parameters (RFC 9106's second recommended set is m=65536, t=3, p=4).
func HashArgon2id(pass string, salt []byte, memory, time uint32, threads uint8) string {
	key := argon2.IDKey([]byte(pass), salt, time, memory, threads, 32)
	var b bytes.Buffer
	fmt.Fprintf(&b, "$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", memory, time, threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	return b.String()
}
