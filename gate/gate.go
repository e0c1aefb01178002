// Package gate is the whole entry policy of the server: what may come in,
// by whichever door. Three doors pass through it:
//
//   - Inject: a post from a newsreader (POST) or a mail through the
//     gateway, which is re-armored canonically and given fresh headers;
//   - Relay: an article fed by a peer (IHAVE, TAKETHIS), stored byte for
//     byte or refused;
//   - Verify: the offline check of articles or bodies (`gateway check`).
//
// Every rule lives here once: the ciphertext rule (package armor, which no
// other package of the server imports), the Control/Supersedes rule, the
// carried-groups rule and the header allowance. A refusal is a
// *news.Refusal with a reason code; each door maps it to its own answer
// (441, 437/439, a sysexits code, an SMTP reply) without reading its text.
package gate

import (
	"errors"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/news"
)

// Reason codes of the gate's own rules; the ciphertext rule uses armor's
// codes (text-after-armor, visible-recipient, ...) and the article parser
// its own (bad-date, missing-header, ...).
const (
	CodeControl = "control"
	// CodeSeveralRecipients: more session key packets than injection takes.
	CodeSeveralRecipients = "several-recipients"
	CodeUnknownGroup      = "unknown-group"
	CodeNoCarriedGroup    = "no-carried-group"
	CodeNotCiphertext     = "not-ciphertext"
	CodeMalformedArticle  = "malformed-article"
	CodeMessageIDMismatch = "message-id-mismatch"
	CodePathLoop          = "path-loop"
	CodeTooOld            = "too-old"
	CodeTooNew            = "too-new"
	CodeNoSeparator       = "no-header-separator"
	CodeHeaderTooLarge    = "header-too-large"
	CodeArticleTooLarge   = "article-too-large"
	CodeBodyTooLarge      = armor.CodeBodyTooLarge
	// CodeReplay and CodeTemporary are given by the doors (a store's
	// replay table, an outage) but belong to the same vocabulary.
	CodeReplay    = "replay"
	CodeTemporary = "temporary"
)

// HeaderAllowance is how many bytes of header an article may carry on top
// of the body limit, on every door: the article parser's header limit,
// nntpd's article size and the offline checker's read limit.
const HeaderAllowance = article.DefaultMaxHeaderBytes

// Policy is the ciphertext policy (armor.Policy): body size, ESK limits,
// whether visible recipients pass.
type Policy = armor.Policy

// Verdict is what the ciphertext rule found in an accepted body.
type Verdict = armor.Verdict

// DefaultMaxBodySize is the body limit of the default policy, so that the
// server's other limits can be set from it without importing armor.
const DefaultMaxBodySize = armor.DefaultMaxBodySize

// DefaultPolicy is the policy of alt.crypt.messages.
func DefaultPolicy() Policy { return armor.DefaultPolicy() }

// MaxBody is the body limit policy p applies.
func MaxBody(p Policy) int {
	if p.MaxBodySize <= 0 {
		return DefaultMaxBodySize
	}
	return p.MaxBodySize
}

// controlFields make an article a control message or a replacement of
// another; the pool takes neither, by any door.
var controlFields = [...]string{"Control", "Also-Control", "Supersedes"}

// Control is the one Control/Supersedes rule: has reports whether the
// article (or mail) has a header field of that name.
func Control(has func(name string) bool) error {
	for _, name := range controlFields {
		if has(name) {
			return news.Refuse(CodeControl, "the article has a %s header; control messages and supersedes are not accepted", name)
		}
	}
	return nil
}

// Carries says whether a group is carried; an error means it cannot be
// told now (a store outage).
type Carries func(group string) (bool, error)

// AllCarried is the carried-groups rule for injection: every group named
// must be carried. list, if not nil, names what is carried, for the
// refusal. A failed lookup is a temporary refusal.
func AllCarried(groups []string, carries Carries, list func() string) error {
	for _, g := range groups {
		ok, err := carries(g)
		if err != nil {
			return &news.Refusal{Code: CodeTemporary, Msg: "the server cannot check its groups right now, try again later", Temporary: true}
		}
		if !ok {
			msg := "this server does not carry " + news.Sanitize(g)
			if list != nil {
				msg += "; it carries " + list()
			}
			return &news.Refusal{Code: CodeUnknownGroup, Msg: msg}
		}
	}
	return nil
}

// Canonical is a body in the canonical armor injection stores, with what
// canonicalising found (armor.Canonical).
type Canonical = armor.Canonical

// Canonicalize applies the ciphertext rule to a body and returns it in the
// canonical armor injection stores (no armor headers, 64 columns, packets
// in canonical framing, every recipient anonymous when anonymize is set).
func Canonicalize(body []byte, p Policy, anonymize bool) (*Canonical, error) {
	c, err := armor.Canonicalize(body, armor.CanonOptions{Policy: p, Anonymize: anonymize})
	if err != nil {
		return nil, cipherRefusal(err)
	}
	return c, nil
}

// Ciphertext applies the ciphertext rule to a body as it is (relaying,
// checking): it must be one strict armored OpenPGP message.
func Ciphertext(body []byte, p Policy) (*Verdict, error) {
	v, err := armor.Check(body, p)
	if err != nil {
		return nil, cipherRefusal(err)
	}
	return v, nil
}

// cipherRefusal is the one place armor's errors become refusals.
func cipherRefusal(err error) error {
	var ae *armor.Error
	if errors.As(err, &ae) {
		return &news.Refusal{Code: ae.Code, Msg: ae.Msg}
	}
	return &news.Refusal{Code: CodeNotCiphertext, Msg: "the body is not an OpenPGP message: " + err.Error()}
}
