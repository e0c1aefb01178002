package home

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// maxUserID bounds a user ID: it is public and travels with every copy
// of the key.
const maxUserID = 200

// ParseUserID splits the user ID a person typed for a new key into the
// name and e-mail address OpenPGP keeps apart: "Alice <alice@example.org>",
// a bare address, or a bare name. The key is public, so what is typed here
// is what contacts see, and pool import names the contact after it
// (ContactName).
func ParseUserID(s string) (name, email string, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "", errors.New("home: empty user ID: give a name, an e-mail address or \"Name <address>\"")
	case len(s) > maxUserID:
		return "", "", fmt.Errorf("home: user ID longer than %d bytes", maxUserID)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", "", errors.New("home: a user ID cannot hold control characters")
	}
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		name, email = strings.TrimSpace(s[:i]), s[i+1:len(s)-1]
		if !isAddress(email) {
			return "", "", fmt.Errorf("home: %q in the user ID is not an e-mail address", email)
		}
	} else if isAddress(s) {
		email = s
	} else {
		name = s
	}
	if strings.ContainsAny(name, "()<>") {
		// gpg refuses these in a name, and go-crypto mirrors it.
		return "", "", fmt.Errorf("home: the name %q cannot hold ( ) < or > (write \"Name <address>\")", name)
	}
	return name, email, nil
}

// isAddress is a loose test for one e-mail address: local@domain, no
// spaces or user-ID punctuation.
func isAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " ()<>,;\"") && !strings.Contains(domain, "@")
}
