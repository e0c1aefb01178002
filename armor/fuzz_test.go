package armor

import (
	"bytes"
	"errors"
	"testing"

	"github.com/altcrypt/altcrypt/internal/corpustest"
)

// fuzzSeeds adds the corpus bodies and gpg-made messages.
func fuzzSeeds(f *testing.F, add func(body []byte)) {
	for _, c := range corpustest.Read(f) {
		add(c.Body)
	}
	h := gpgTest(f)
	for _, c := range gpgCases() {
		add(gpgMessage(f, c.args(h)...))
	}
	msg := gpgMessage(f, "-e", "-a", "-r", h.cv)
	add(bytes.ReplaceAll(msg, []byte("\n"), []byte("\r\n")))
	add(append([]byte("Hello,\n\n"), msg...))
	add(rewrap(f, msg, 76, []string{"Version: x", "Comment: y"}, "\n", false))
}

func fuzzPolicies() []Policy {
	strict := DefaultPolicy()
	strict.AllowVisibleRecipients = false
	strict.AllowLibrePGPAEAD = false
	strict.MaxESKs = 2
	return []Policy{DefaultPolicy(), strict}
}

// checkRefusal fails t unless err is an *Error with a message and a
// known code.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) || ae.Msg == "" {
		t.Fatalf("error %T %v", err, err)
	}
	if _, ok := Rule(ae.Code); !ok {
		t.Fatalf("unknown code %q", ae.Code)
	}
}

// FuzzCheck: Check never panics, its verdict and error agree, every error
// is an *Error with a known code, and whatever Check accepts Canonicalize
// accepts with the same packets.
func FuzzCheck(f *testing.F) {
	fuzzSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range fuzzPolicies() {
			v, err := Check(body, p)
			if (v == nil) == (err == nil) {
				t.Fatalf("verdict %v and error %v", v, err)
			}
			if err != nil {
				checkRefusal(t, err)
				continue
			}
			switch v.Container {
			case "seipd-v1", "seipd-v2", "aead-librepgp":
			default:
				t.Fatalf("container %q", v.Container)
			}
			if len(v.ESKs) == 0 || len(v.ESKs) > p.MaxESKs || v.PacketBytes == 0 || v.BodyBytes != len(body) {
				t.Fatalf("verdict %+v", v)
			}
			big := p
			big.MaxBodySize = 4 * DefaultMaxBodySize
			c, err := Canonicalize(body, CanonOptions{Policy: big})
			if err != nil {
				t.Fatalf("Check accepts, Canonicalize refuses: %v", err)
			}
			if c.Verdict.PacketBytes > v.PacketBytes+len(v.ESKs)+1 || c.Verdict.Container != v.Container || len(c.Verdict.ESKs) != len(v.ESKs) {
				t.Fatalf("verdicts differ: %+v %+v", v, c.Verdict)
			}
		}
	})
}

// FuzzCanonicalize: Canonicalize never panics, whatever it returns passes
// Check, and canonicalising the output again returns identical bytes.
func FuzzCanonicalize(f *testing.F) {
	fuzzSeeds(f, func(b []byte) { f.Add(b, false); f.Add(b, true) })
	f.Fuzz(func(t *testing.T, body []byte, anonymize bool) {
		for _, p := range fuzzPolicies() {
			opt := CanonOptions{Policy: p, Anonymize: anonymize}
			c, err := Canonicalize(body, opt)
			if err != nil {
				checkRefusal(t, err)
				continue
			}
			if _, err := Check(c.Body, p); err != nil {
				t.Fatalf("output fails Check: %v\n%q", err, c.Body)
			}
			again, err := Canonicalize(c.Body, opt)
			if err != nil {
				t.Fatalf("second pass: %v", err)
			}
			if !bytes.Equal(again.Body, c.Body) {
				t.Fatalf("second pass changed the bytes:\n%q\n%q", c.Body, again.Body)
			}
			if anonymize {
				for _, e := range c.Verdict.ESKs {
					if e.Kind == "pkesk" && !e.Anonymous {
						t.Fatalf("anonymize left %+v", e)
					}
				}
			}
		}
	})
}
