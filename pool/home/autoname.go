package home

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// Imported is what Import stored: secret keys, or one contact.
type Imported struct {
	Secret  openpgp.EntityList // secret keys, when r held them
	Contact string             // the contact's name, when r held a public key
	UserID  string             // the user ID the name was taken from
	Entity  *openpgp.Entity    // the contact's key
}

// Import stores what r holds without being told what it is: secret keys,
// as ImportSecret does, or one public key, as a contact named after its
// primary user ID (ContactName), so that importing a key someone sent
// needs no name. It refuses to replace another key already stored under
// that name; the caller then names the contact itself.
func (h *Home) Import(r io.Reader) (*Imported, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	el, err := readKeys(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	secret := 0
	for _, e := range el {
		if e.PrivateKey != nil {
			secret++
		}
	}
	switch {
	case secret == len(el):
		el, err := h.ImportSecret(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return &Imported{Secret: el}, nil
	case secret > 0:
		return nil, errors.New("home: the file mixes secret and public keys; import them separately")
	case len(el) != 1:
		return nil, fmt.Errorf("home: %d public keys given; import one contact at a time", len(el))
	}
	e := el[0]
	name, uid, err := ContactName(e)
	if err != nil {
		return nil, err
	}
	if old, err := h.Contact(name); err == nil && old.Entity != nil &&
		!bytes.Equal(old.Entity.PrimaryKey.Fingerprint, e.PrimaryKey.Fingerprint) {
		return nil, fmt.Errorf("home: contact %s already holds key %X; choose another name with --contact NAME",
			name, old.Entity.PrimaryKey.Fingerprint)
	} else if err != nil && !isNoContact(h, name) {
		return nil, err
	}
	if _, err := h.ImportContact(name, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return &Imported{Contact: name, UserID: uid, Entity: e}, nil
}

// isNoContact reports whether nothing at all is stored under name.
func isNoContact(h *Home, name string) bool {
	for _, ext := range []string{".asc", ".hsub"} {
		if _, err := os.Stat(filepath.Join(h.Dir, "contacts", name+ext)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// ContactName picks a contact name from a key's primary user ID: its
// e-mail address when it has one (what gpg users already type), else its
// name with every run of characters a file name cannot safely hold turned
// into one "-". It also returns the user ID it read.
func ContactName(e *openpgp.Entity) (name, userID string, err error) {
	id := e.PrimaryIdentity()
	if id == nil || id.UserId == nil {
		return "", "", fmt.Errorf("home: key %X has no user ID to name the contact after; give --contact NAME", e.PrimaryKey.Fingerprint)
	}
	uid := id.UserId
	for _, cand := range []string{strings.ToLower(uid.Email), safeName(uid.Name), safeName(uid.Id)} {
		if cand != "" && CheckName(cand) == nil {
			return cand, uid.Id, nil
		}
	}
	return "", uid.Id, fmt.Errorf("home: cannot make a contact name from the user ID %q; give --contact NAME", uid.Id)
}

// safeName keeps the ASCII letters and digits of s, and ._@+ right after
// one of them ("j.r.r", not ".."), turns every other run into one "-", and
// trims what cannot start or end a name.
func safeName(s string) string {
	var b strings.Builder
	dash, alnum := false, false
	for _, r := range s {
		isAlnum := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		ok := isAlnum || alnum && strings.ContainsRune("._@+", r)
		alnum = isAlnum
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-._@+")
	if len(out) > 64 {
		out = strings.TrimRight(out[:64], "-._@+")
	}
	return out
}
