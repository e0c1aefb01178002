package news

import "fmt"

// Refusal is why an article (or a request about one) is not taken: a short
// reason code, stable and machine-readable ("441 code: sentence" to a
// poster, a transit log line, a bounce), and a sentence for people.
// Temporary says the same article may succeed later (a store outage, a
// busy server); every path maps it to its own temporary answer (436/431,
// EX_TEMPFAIL, SMTP 451) without reading the sentence.
type Refusal struct {
	Code      string
	Msg       string
	Temporary bool
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Msg }

// Refuse returns a permanent refusal.
func Refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Reason codes of the rules in this package.
const (
	CodeMessageID  = "bad-message-id"
	CodeNewsgroups = "bad-newsgroups"
	CodePathName   = "bad-path-name"
)
