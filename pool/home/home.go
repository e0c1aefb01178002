// Package home keeps the user's pool directory: secret keys, contacts (a
// public key and an optional hsub secret each), passphrases for symmetric
// messages, and the local stores of downloaded articles.
//
// Layout under the directory ($ALTCRYPT_HOME, or altcrypt under the user's
// config directory):
//
//	secret/<FINGERPRINT>.asc   one armored secret key per file
//	contacts/<NAME>.asc        a contact's armored public key
//	contacts/<NAME>.hsub       the hsub secret shared with the contact
//	passphrases                optional, one passphrase per line, for messages
//	                           encrypted symmetrically
//	spool/                     local stores, one per server (package spool)
package home

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/altcrypt/altcrypt/pool/internal/atomicfile"
)

// EnvVar names the environment variable that overrides the directory.
const EnvVar = "ALTCRYPT_HOME"

// maxKeyFile bounds key files read from disk or standard input.
const maxKeyFile = 1 << 20

// Home is an opened pool directory.
type Home struct {
	Dir string
}

// DefaultDir returns $ALTCRYPT_HOME, or altcrypt under os.UserConfigDir.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvVar); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("home: no config directory (set %s): %w", EnvVar, err)
	}
	return filepath.Join(base, "altcrypt"), nil
}

// Open opens (creating if needed, mode 0700) the pool directory dir.
func Open(dir string) (*Home, error) {
	for _, d := range []string{dir, filepath.Join(dir, "secret"), filepath.Join(dir, "contacts"), filepath.Join(dir, "spool")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("home: %w", err)
		}
	}
	return &Home{Dir: dir}, nil
}

// SpoolDir is where the local stores live.
func (h *Home) SpoolDir() string { return filepath.Join(h.Dir, "spool") }

// KeyOptions choose what Keygen makes.
type KeyOptions struct {
	// Name and Email make the key's user ID, which is public (ParseUserID
	// splits what a person typed); gpg needs one to import the key. Both
	// empty: "pool", for tests.
	Name  string
	Email string
	V6    bool // RFC 9580 v6 key (Ed25519 + X25519) instead of v4 (EdDSA + cv25519 ECDH)
	// Passphrase, when set, protects the stored secret key (as gpg does);
	// pool read then needs it (--key-passphrase-file).
	Passphrase []byte
}

// Keygen makes a new Curve25519 key, saves its secret part and returns it.
func (h *Home) Keygen(opt KeyOptions) (*openpgp.Entity, error) {
	name := opt.Name
	if name == "" && opt.Email == "" {
		name = "pool"
	}
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	if opt.V6 {
		cfg = &packet.Config{Algorithm: packet.PubKeyAlgoEd25519, V6Keys: true}
	}
	e, err := openpgp.NewEntity(name, "", opt.Email, cfg)
	if err != nil {
		return nil, fmt.Errorf("home: generating a key: %w", err)
	}
	if err := gpgPreferences(e, cfg); err != nil {
		return nil, err
	}
	if len(opt.Passphrase) > 0 {
		if err := e.EncryptPrivateKeys(opt.Passphrase, nil); err != nil {
			return nil, fmt.Errorf("home: protecting the key: %w", err)
		}
	}
	if err := h.saveSecret(e); err != nil {
		return nil, err
	}
	return e, nil
}

func (h *Home) saveSecret(e *openpgp.Entity) error {
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		return err
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return fmt.Errorf("home: serialising the secret key: %w", err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	b.WriteByte('\n')
	path := filepath.Join(h.Dir, "secret", fmt.Sprintf("%X.asc", e.PrimaryKey.Fingerprint))
	return atomicfile.Write(path, b.Bytes(), 0o600)
}

// ArmoredPublic returns the armored public key of e, to give to contacts.
func ArmoredPublic(e *openpgp.Entity) ([]byte, error) {
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// readKeys reads armored or binary keys.
func readKeys(r io.Reader) (openpgp.EntityList, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("home: key file over %d octets", maxKeyFile)
	}
	var el openpgp.EntityList
	const begin = "-----BEGIN PGP"
	if !bytes.Contains(data, []byte(begin)) {
		if el, err = openpgp.ReadKeyRing(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("home: reading keys: %w", err)
		}
	}
	// go-crypto reads one armored block per call: read each.
	for _, block := range bytes.Split(data, []byte(begin))[1:] {
		one, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(append([]byte(begin), block...)))
		if err != nil {
			return nil, fmt.Errorf("home: reading keys: %w", err)
		}
		el = append(el, one...)
	}
	if len(el) == 0 {
		return nil, errors.New("home: no key found")
	}
	return el, nil
}

// ImportSecret stores the secret keys read from r (armored or binary, for
// example from gpg --export-secret-keys). Keys protected by a passphrase are
// stored as they are and need the passphrase when read.
func (h *Home) ImportSecret(r io.Reader) (openpgp.EntityList, error) {
	el, err := readKeys(r)
	if err != nil {
		return nil, err
	}
	for _, e := range el {
		if e.PrivateKey == nil {
			return nil, fmt.Errorf("home: key %X has no secret part (use --contact for public keys)", e.PrimaryKey.Fingerprint)
		}
	}
	for _, e := range el {
		if err := h.saveSecret(e); err != nil {
			return nil, err
		}
	}
	return el, nil
}

// SecretKeys returns every stored secret key. Keys protected by a passphrase
// are returned locked; see Unlock.
func (h *Home) SecretKeys() (openpgp.EntityList, error) {
	files, err := filepath.Glob(filepath.Join(h.Dir, "secret", "*.asc"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var all openpgp.EntityList
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		el, err := readKeys(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		all = append(all, el...)
	}
	return all, nil
}

// Unlock decrypts every protected secret key in el that passphrase opens
// and returns how many stay locked.
func Unlock(el openpgp.EntityList, passphrase []byte) int {
	locked := 0
	try := func(k *packet.PrivateKey) {
		if k == nil || !k.Encrypted {
			return
		}
		if passphrase == nil || k.Decrypt(passphrase) != nil {
			locked++
		}
	}
	for _, e := range el {
		try(e.PrivateKey)
		for _, s := range e.Subkeys {
			try(s.PrivateKey)
		}
	}
	return locked
}

var contactName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// CheckName reports whether name can name a contact (it becomes a file name).
func CheckName(name string) error {
	if !contactName.MatchString(name) {
		return fmt.Errorf("home: bad contact name %q (letters, digits and ._@+- only, up to 64)", name)
	}
	return nil
}

// ImportContact stores the public key read from r as contact name.
func (h *Home) ImportContact(name string, r io.Reader) (*openpgp.Entity, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	el, err := readKeys(r)
	if err != nil {
		return nil, err
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("home: %d keys given for one contact; give exactly one", len(el))
	}
	pub, err := ArmoredPublic(el[0])
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(h.Dir, "contacts", name+".asc"), pub, 0o600); err != nil {
		return nil, err
	}
	return el[0], nil
}

// SetHsub stores the hsub secret shared with contact name.
func (h *Home) SetHsub(name string, secret []byte) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if len(secret) == 0 {
		return errors.New("home: empty hsub secret")
	}
	return atomicfile.Write(filepath.Join(h.Dir, "contacts", name+".hsub"), secret, 0o600)
}

// Contact is someone messages are sent to.
type Contact struct {
	Name   string
	Entity *openpgp.Entity // nil if only an hsub secret is known
	Hsub   []byte          // nil if none
}

// Contact loads one contact.
func (h *Home) Contact(name string) (*Contact, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	c := &Contact{Name: name}
	base := filepath.Join(h.Dir, "contacts", name)
	if data, err := os.ReadFile(base + ".asc"); err == nil {
		el, err := readKeys(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("contact %s: %w", name, err)
		}
		c.Entity = el[0]
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if data, err := os.ReadFile(base + ".hsub"); err == nil {
		c.Hsub = data
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if c.Entity == nil && c.Hsub == nil {
		return nil, fmt.Errorf("home: no contact %q (pool import --contact %s FILE)", name, name)
	}
	return c, nil
}

// Contacts loads every contact.
func (h *Home) Contacts() ([]*Contact, error) {
	files, err := os.ReadDir(filepath.Join(h.Dir, "contacts"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []*Contact
	for _, f := range files {
		name := f.Name()
		name = strings.TrimSuffix(strings.TrimSuffix(name, ".asc"), ".hsub")
		if seen[name] || CheckName(name) != nil {
			continue
		}
		seen[name] = true
		c, err := h.Contact(name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// HsubSecrets returns the hsub secrets of all contacts.
func (h *Home) HsubSecrets() ([][]byte, error) {
	cs, err := h.Contacts()
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, c := range cs {
		if c.Hsub != nil {
			out = append(out, c.Hsub)
		}
	}
	return out, nil
}

// Passphrases returns the passphrases configured for symmetric messages.
func (h *Home) Passphrases() ([][]byte, error) {
	data, err := os.ReadFile(filepath.Join(h.Dir, "passphrases"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line != "" {
			out = append(out, []byte(line))
		}
	}
	return out, nil
}
