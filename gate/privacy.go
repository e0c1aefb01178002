package gate

import (
	"net"
	"strings"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/article"
	"github.com/altcrypt/altcrypt/news"
)

// Privacy is the relay door's privacy policy (off by default: a relay
// passes on what other servers injected). Each field refuses articles of
// one kind, with its own reason code; relaying never rewrites.
type Privacy struct {
	// RefuseHostTraces refuses articles with NNTP-Posting-Host, X-Trace,
	// X-Originating-IP, or an address (or posting-host parameter) in
	// Injection-Info: traces that name the poster's machine
	// (CodeHostTrace).
	RefuseHostTraces bool
	// RefuseVisibleRecipients refuses session key packets that name
	// their recipient (armor's visible-recipient).
	RefuseVisibleRecipients bool
	// MaxESKs, when positive, refuses articles with more session key
	// packets: several recipients of one message are linked by it
	// (CodeSeveralRecipients).
	MaxESKs int
}

// CodeHostTrace: a trace of the poster's machine (Privacy).
const CodeHostTrace = "posting-host-trace"

// hostTrace names the first posting-host trace in a, or "".
func hostTrace(a *article.Article) string {
	for _, h := range []string{"NNTP-Posting-Host", "X-Trace", "X-Originating-IP"} {
		if a.Has(h) {
			return h
		}
	}
	info := a.Get("Injection-Info")
	if strings.Contains(strings.ToLower(info), "posting-host") {
		return "Injection-Info (posting-host)"
	}
	for _, tok := range strings.FieldsFunc(info, func(c rune) bool {
		return !(c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
	}) {
		if net.ParseIP(strings.Trim(tok, ".:")) != nil && strings.ContainsAny(tok, ".:") {
			return "Injection-Info (an address)"
		}
	}
	return ""
}

// check applies the privacy policy to a verified article.
func (p Privacy) check(a *article.Article, v *Verdict) error {
	if p.RefuseHostTraces {
		if h := hostTrace(a); h != "" {
			return news.Refuse(CodeHostTrace, "the article carries %s, which names the poster's machine; this server relays no posting-host traces", h)
		}
	}
	if p.RefuseVisibleRecipients {
		for i, e := range v.ESKs {
			if e.Kind == "pkesk" && !e.Anonymous {
				return news.Refuse(armor.CodeVisible, "session key packet %d names its recipient; this server relays only hidden recipients", i+1)
			}
		}
	}
	if p.MaxESKs > 0 && len(v.ESKs) > p.MaxESKs {
		return news.Refuse(CodeSeveralRecipients, "the message has %d session key packets, more than the %d this server relays: several recipients link their keys", len(v.ESKs), p.MaxESKs)
	}
	return nil
}
