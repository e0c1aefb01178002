package news

import "strings"

// MaxMessageIDLength is the longest message-id allowed, brackets included
// (RFC 3977 section 3.6, RFC 5536 section 3.1.3).
const MaxMessageIDLength = 250

// CheckMessageID is the one message-id rule of the server: what a client
// may ask for, what the gate accepts and what a store keeps. A message-id
// is "<" left "@" right ">", printable US-ASCII without spaces, no "<" or
// ">" inside, at most 250 octets.
func CheckMessageID(id string) error {
	if len(id) < 5 || len(id) > MaxMessageIDLength {
		return Refuse(CodeMessageID, "message-id must be 5 to %d octets", MaxMessageIDLength)
	}
	if id[0] != '<' || id[len(id)-1] != '>' {
		return Refuse(CodeMessageID, "message-id must be enclosed in angle brackets")
	}
	core := id[1 : len(id)-1]
	for i := 0; i < len(core); i++ {
		c := core[i]
		if c <= ' ' || c > '~' || c == '<' || c == '>' {
			return Refuse(CodeMessageID, "message-id holds a space, control, non-ASCII or bracket character")
		}
	}
	at := strings.LastIndexByte(core, '@')
	if at <= 0 || at == len(core)-1 {
		return Refuse(CodeMessageID, "message-id must have the form <left@right>")
	}
	return nil
}

// ValidMessageID is CheckMessageID as a predicate.
func ValidMessageID(id string) bool { return CheckMessageID(id) == nil }

// Newsgroups limits.
const (
	MaxGroupNameLength = 255
	MaxNewsgroups      = 100
)

// CheckGroupName is the one group-name rule: dot-separated components of
// letters, digits, "+", "-" and "_" (RFC 5536 section 3.1.4), at most 255
// octets. Such a name cannot break LIST, Newsgroups, Xref or a wildmat.
func CheckGroupName(name string) error {
	if name == "" {
		return Refuse(CodeNewsgroups, "empty group name")
	}
	if len(name) > MaxGroupNameLength {
		return Refuse(CodeNewsgroups, "group name longer than %d octets", MaxGroupNameLength)
	}
	for _, comp := range strings.Split(name, ".") {
		if comp == "" {
			return Refuse(CodeNewsgroups, "group name %q has an empty component", name)
		}
		for i := 0; i < len(comp); i++ {
			c := comp[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '_'
			if !ok {
				return Refuse(CodeNewsgroups, "group name %q holds an invalid character", Sanitize(name))
			}
		}
	}
	return nil
}

// ParseNewsgroups parses a Newsgroups field value: group names separated
// by commas, white space allowed around them (RFC 5536 section 3.1.4).
// Duplicates are dropped, order kept.
func ParseNewsgroups(v string) ([]string, error) {
	var groups []string
	for _, part := range strings.Split(v, ",") {
		name := strings.Trim(part, " \t\r\n")
		if name == "" {
			return nil, Refuse(CodeNewsgroups, "empty group name in Newsgroups")
		}
		if err := CheckGroupName(name); err != nil {
			return nil, err
		}
		dup := false
		for _, g := range groups {
			if g == name {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		if len(groups) >= MaxNewsgroups {
			return nil, Refuse(CodeNewsgroups, "more than %d groups in Newsgroups", MaxNewsgroups)
		}
		groups = append(groups, name)
	}
	return groups, nil
}

// Sanitize makes s safe to echo in a one-line response: printable ASCII,
// at most 64 octets.
func Sanitize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		if c < ' ' || c > '~' {
			c = '?'
		}
		b.WriteByte(c)
	}
	return b.String()
}
