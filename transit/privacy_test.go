package transit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/armor"
	"github.com/altcrypt/altcrypt/internal/gpgtest"
	"github.com/altcrypt/altcrypt/store"
	"github.com/altcrypt/altcrypt/transit"
	tt "github.com/altcrypt/altcrypt/transit/transittest"
)

// twoESKs returns a hidden-recipient body with its session key packet
// twice, as a message to two recipients.
func twoESKs(t *testing.T, hidden []byte) []byte {
	t.Helper()
	c, err := armor.Canonicalize(hidden, armor.CanonOptions{Policy: armor.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	var b64 strings.Builder
	for _, l := range strings.Split(string(c.Body), "\r\n") {
		if l != "" && !strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "=") {
			b64.WriteString(l)
		}
	}
	raw, _ := base64.StdEncoding.DecodeString(b64.String())
	esk := raw[:2+int(raw[1])] // new-format, one-octet length
	raw = append(append([]byte{}, esk...), raw...)
	enc := base64.StdEncoding.EncodeToString(raw)
	var out bytes.Buffer
	out.WriteString("-----BEGIN PGP MESSAGE-----\r\n\r\n")
	for len(enc) > 0 {
		n := min(64, len(enc))
		out.WriteString(enc[:n] + "\r\n")
		enc = enc[n:]
	}
	out.WriteString("-----END PGP MESSAGE-----\r\n")
	return out.Bytes()
}

// TestPrivacyPolicy: off by default every kind passes; each switch
// refuses its kind, with its own reason, and nothing is rewritten.
func TestPrivacyPolicy(t *testing.T) {
	k := gpgtest.NewKey(t)
	visible := gpgtest.CRLF(k.EncryptText(t, "visible"))
	hidden := gpgtest.CRLF(k.Encrypt(t, []byte("hidden"), k.Email, gpgtest.Hidden))
	two := twoESKs(t, hidden)
	now := time.Now()
	withHeader := func(h string) func(id string) []byte {
		return func(id string) []byte {
			return append([]byte(h+"\r\n"), tt.Article(id, "peer!x", now, hidden)...)
		}
	}
	cases := []struct {
		name   string
		build  func(id string) []byte
		reason string // under the strict policy
	}{
		{"clean", func(id string) []byte { return tt.Article(id, "peer!x", now, hidden) }, ""},
		{"nntp-posting-host", withHeader("NNTP-Posting-Host: 192.0.2.7"), transit.CodeHostTrace},
		{"x-trace", withHeader("X-Trace: news.example 1764800000 192.0.2.7 (4 Dec 2026 10:00:00 GMT)"), transit.CodeHostTrace},
		{"x-originating-ip", withHeader("X-Originating-IP: [2001:db8::7]"), transit.CodeHostTrace},
		{"injection-info-address", withHeader(`Injection-Info: news.example; posting-account="x"; logging-data="192.0.2.7"`), transit.CodeHostTrace},
		{"injection-info-posting-host", withHeader(`Injection-Info: news.example; posting-host="host.example"`), transit.CodeHostTrace},
		{"injection-info-clean", withHeader(`Injection-Info: news.example; mail-complaints-to="abuse@news.example"`), ""},
		{"visible-recipient", func(id string) []byte { return tt.Article(id, "peer!x", now, visible) }, armor.CodeVisible},
		{"several-esks", func(id string) []byte { return tt.Article(id, "peer!x", now, two) }, transit.CodeSeveralRecipients},
	}
	strict := transit.Privacy{RefuseHostTraces: true, RefuseVisibleRecipients: true, MaxESKs: 1}
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		for _, policy := range []transit.Privacy{{}, strict} {
			st := open(t)
			srv := tt.StartServer(t, st, transit.Config{PathName: "us.example", Privacy: policy}, "")
			for _, c := range cases {
				id := "<" + c.name + "@peer.example>"
				raw := c.build(id)
				err := srv.Receiver.Receive(context.Background(), id, raw)
				want := ""
				if policy == strict {
					want = c.reason
				}
				if want == "" {
					if err != nil {
						t.Errorf("policy %+v, %s: %v", policy, c.name, err)
						continue
					}
					checkStored(t, st, id, raw)
					continue
				}
				if got := transit.Reason(err); got != want {
					t.Errorf("policy %+v, %s: reason %q (%v), want %q", policy, c.name, got, err, want)
				}
			}
		}
	})
}
