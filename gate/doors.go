package gate

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/news"
)

// Injected is a posted article reduced to what injection keeps.
type Injected struct {
	Article *article.Article // the parse of the post, for the caller's own checks (hashcash)
	Groups  []string
	Canon   *Canonical // the body in canonical armor, anonymous recipients
}

// InjectPolicy is the policy of injection.
type InjectPolicy struct {
	Carries Carries
	Policy  Policy
	// MaxESKs is the most session key packets a post may carry (at least
	// one): several recipients of one message are linked by it for
	// everyone to see.
	MaxESKs int
}

// Inject applies the policy of a newsreader's POST: the article parses,
// is no control message or supersedes, names only carried groups, and its
// body is one OpenPGP message to at most MaxESKs recipients, returned in
// canonical form.
func Inject(raw []byte, ip InjectPolicy) (*Injected, error) {
	a, err := article.Parse(raw, article.Limits{})
	if err != nil {
		return nil, articleRefusal(err)
	}
	if err := Control(a.Has); err != nil {
		return nil, err
	}
	groups, err := a.Newsgroups()
	if err != nil {
		return nil, articleRefusal(err)
	}
	if err := AllCarried(groups, ip.Carries, nil); err != nil {
		return nil, err
	}
	canon, err := Canonicalize(a.Body, ip.Policy, true)
	if err != nil {
		return nil, err
	}
	if n, most := len(canon.Verdict.ESKs), max(ip.MaxESKs, 1); n > most {
		return nil, news.Refuse(CodeSeveralRecipients, "the message has %d session key packets and this server injects at most %d: "+
			"several recipients link their keys (everyone can see that one message went to all of them); send each recipient a message of their own", n, most)
	}
	return &Injected{Article: a, Groups: groups, Canon: canon}, nil
}

// Relay is the policy of a peer's feed (IHAVE, TAKETHIS).
type Relay struct {
	Limits article.Limits
	Policy Policy
	// PathNames are our names: an article whose Path holds one has been
	// here before.
	PathNames []string
	// HistoryWindow is how far back an article may be dated (older ones
	// could repeat an expired message-id); FutureSkew how far ahead.
	HistoryWindow, FutureSkew time.Duration
	// Privacy refuses articles that would identify posters or link
	// recipients (all off by default).
	Privacy Privacy
}

// Relayed is an article a peer may hand us.
type Relayed struct {
	Article *article.Article
	Groups  []string // all of Newsgroups
	Carried []string // the groups of Groups we carry, in order
}

// Check applies the relay policy to one article offered as messageID.
// carried picks the groups we carry out of the article's; an error from it
// is returned as it is (a temporary failure), while every refusal is a
// *news.Refusal.
func (rl Relay) Check(raw []byte, messageID string, now time.Time, carried func([]string) ([]string, error)) (*Relayed, error) {
	a, err := article.Parse(raw, rl.Limits)
	if err != nil {
		return nil, articleRefusal(err)
	}
	if err := a.CheckTransit(); err != nil {
		return nil, articleRefusal(err)
	}
	if got := a.Get("Message-ID"); got != messageID {
		return nil, news.Refuse(CodeMessageIDMismatch, "the command named %s but the article's Message-ID is %s", messageID, got)
	}
	if err := Control(a.Has); err != nil {
		return nil, err
	}
	path := a.Get("Path")
	for _, name := range rl.PathNames {
		if news.InPath(path, name) {
			return nil, news.Refuse(CodePathLoop, "the Path already holds our name %s", name)
		}
	}
	date, _ := a.Date() // CheckTransit parsed it
	if date.Before(now.Add(-rl.HistoryWindow)) {
		return nil, news.Refuse(CodeTooOld, "dated %s, before our history window of %s", date.UTC().Format(time.RFC3339), rl.HistoryWindow)
	}
	if date.After(now.Add(rl.FutureSkew)) {
		return nil, news.Refuse(CodeTooNew, "dated %s, in the future", date.UTC().Format(time.RFC3339))
	}
	all, _ := a.Newsgroups() // CheckTransit parsed it
	ours, err := carried(all)
	if err != nil {
		return nil, err
	}
	if len(ours) == 0 {
		return nil, news.Refuse(CodeNoCarriedGroup, "none of the groups %v is carried here", all)
	}
	v, err := Ciphertext(a.Body, rl.Policy)
	if err != nil {
		return nil, err
	}
	if err := rl.Privacy.check(a, v); err != nil {
		return nil, err
	}
	return &Relayed{Article: a, Groups: all, Carried: ours}, nil
}

func articleRefusal(err error) error {
	var r *news.Refusal
	if errors.As(err, &r) {
		return r
	}
	return news.Refuse(CodeMalformedArticle, "%v", err)
}

// Verify is the offline check (`gateway check`) of one input: an article
// (headers, empty line, body) or, with body set, a bare body. data holds at
// most ReadLimit bytes of the input; size is its full size when known (-1
// otherwise). allowance caps the header block (0: HeaderAllowance).
func Verify(data []byte, size int64, body bool, p Policy, allowance int) (*Verdict, error) {
	if allowance <= 0 {
		allowance = HeaderAllowance
	}
	limit := ReadLimit(body, p, allowance)
	if size > int64(limit) || len(data) > limit {
		if size < int64(len(data)) {
			size = int64(len(data))
		}
		what, code := "article", CodeArticleTooLarge
		if body {
			what, code = "body", CodeBodyTooLarge
		}
		return nil, news.Refuse(code, "the %s is at least %d bytes; at most %d are accepted", what, size, limit)
	}
	b := data
	if !body {
		var err error
		if b, err = splitArticle(data, allowance); err != nil {
			return nil, err
		}
	}
	return Ciphertext(b, p)
}

// ReadLimit is the most bytes Verify looks at in one input.
func ReadLimit(body bool, p Policy, allowance int) int {
	if allowance <= 0 {
		allowance = HeaderAllowance
	}
	if body {
		return MaxBody(p)
	}
	return MaxBody(p) + allowance
}

// splitArticle returns the body after the first empty line (CRLF CRLF or
// LF LF). The header block may not exceed allowance bytes.
func splitArticle(a []byte, allowance int) ([]byte, error) {
	tooLarge := func() error {
		return &news.Refusal{Code: CodeHeaderTooLarge, Msg: fmt.Sprintf("the header block is longer than %d bytes", allowance)}
	}
	for pos := 0; pos < len(a); {
		if pos > allowance {
			return nil, tooLarge()
		}
		i := bytes.IndexByte(a[pos:], '\n')
		if i < 0 {
			break
		}
		l := a[pos : pos+i]
		pos += i + 1
		if len(l) == 0 || (len(l) == 1 && l[0] == '\r') {
			if pos-1 > allowance {
				return nil, tooLarge()
			}
			return a[pos:], nil
		}
	}
	if len(a) > allowance {
		return nil, news.Refuse(CodeHeaderTooLarge, "no empty line ends the headers within %d bytes", allowance)
	}
	return nil, news.Refuse(CodeNoSeparator, "the article has no empty line between its headers and its body (use --body for bare bodies)")
}
