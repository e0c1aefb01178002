package article

import (
	"net/mail"
	"strings"
	"time"
)

// commonDateLayouts are the Date forms news and mail software writes (RFC
// 5322's preferred form, with and without the day name). They are tried
// first: net/mail tries some forty layouts in turn, and its failed
// attempts cost more than the parse itself, on every transit article.
var commonDateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
}

// parseDate parses a Date field value as net/mail.ParseDate does (it
// accepts nothing that function refuses), quickly for the common forms.
func parseDate(v string) (time.Time, error) {
	s := strings.Trim(v, " \t")
	for _, layout := range commonDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return mail.ParseDate(v)
}
