package mail2news

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const ng = "Newsgroups: alt.crypt.messages"

func TestPrepare(t *testing.T) {
	a1, a2 := encrypt(t), encrypt(t)
	withComment := encrypt(t, "--comment", "Sent by the best client")
	hidden := encrypt(t, "--throw-keyids")
	stored := gpgRun(t, []byte("plain text, not encrypted\n"), "--store", "--armor")
	clearsigned := gpgRun(t, []byte("a signed note\n"), "--clearsign")
	detached := gpgRun(t, a1, "--detach-sign", "--armor")
	quoted := "> " + strings.ReplaceAll(strings.TrimRight(string(a1), "\n"), "\n", "\n> ") + "\n"

	cases := []struct {
		name       string
		mail       mailSpec
		raw        []byte // instead of mail
		cfg        Config
		recipients []string
		reason     string // "" = accepted; "*" = refused by the armor gate (any code)
	}{
		{name: "inline", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng}}},
		{name: "quoted-printable", mail: mailSpec{Kind: "qp", Armors: [][]byte{a1}, Headers: []string{ng}}},
		{name: "base64", mail: mailSpec{Kind: "base64", Armors: [][]byte{a1}, Headers: []string{ng}}},
		{name: "pgp-mime", mail: mailSpec{Kind: "pgpmime", Armors: [][]byte{a1}, Headers: []string{ng}}},
		{name: "pgp-mime, base64 part", mail: mailSpec{Kind: "pgpmime-b64", Armors: [][]byte{a1}, Headers: []string{ng}}},
		{name: "pgp-mime without Version: 1", raw: pgpMIME("Version: 2", "application/octet-stream", a1), reason: ReasonPGPMIME},
		{name: "pgp-mime with a text part", raw: pgpMIME("Version: 1", "text/plain", a1), reason: ReasonPGPMIME},
		{name: "pgp-mime, hand-written", raw: pgpMIME("Version: 1", "application/octet-stream", a1)},
		{name: "alternative plain and html", mail: mailSpec{Kind: "alternative", Armors: [][]byte{a1}, Headers: []string{ng}}},
		{name: "asc attachment", mail: mailSpec{Kind: "attachment", Armors: [][]byte{a1}, Headers: []string{ng}}},
		{name: "text around and mail signature", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Before: "Hi,\nhere it is.", Sig: "Alice\nhttps://alice.example", Headers: []string{ng}}},
		{name: "mail signature, quoted-printable", mail: mailSpec{Kind: "qp", Armors: [][]byte{a1}, Sig: "Alice", Headers: []string{ng}}},
		{name: "armor headers are stripped", mail: mailSpec{Kind: "inline", Armors: [][]byte{withComment}, Headers: []string{ng}}},
		{name: "hidden recipient", mail: mailSpec{Kind: "inline", Armors: [][]byte{hidden}, Headers: []string{ng}}},
		{name: "mbox From line first", raw: append([]byte("From alice@sender.example Wed Nov 25 10:00:00 2026\n"), makeMail(t, mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng}})...)},

		{name: "two armored blocks", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1, a2}, Headers: []string{ng}}, reason: ReasonTwoMessages},
		{name: "two blocks in base64", mail: mailSpec{Kind: "base64", Armors: [][]byte{a1, a2}, Headers: []string{ng}}, reason: ReasonTwoMessages},
		{name: "no ciphertext", mail: mailSpec{Kind: "inline", Before: "just a note, nothing encrypted", Headers: []string{ng}}, reason: ReasonNoCiphertext},
		{name: "clearsigned text only", mail: mailSpec{Kind: "inline", Armors: [][]byte{clearsigned}, Headers: []string{ng}}, reason: ReasonSignatureOnly},
		{name: "signature block only", mail: mailSpec{Kind: "inline", Armors: [][]byte{detached}, Headers: []string{ng}}, reason: ReasonSignatureOnly},
		{name: "message with a signature block beside it", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1, detached}, Headers: []string{ng}}, reason: ReasonOtherBlock},
		{name: "stored, not encrypted", mail: mailSpec{Kind: "inline", Armors: [][]byte{stored}, Headers: []string{ng}}, reason: "*"},
		{name: "quoted armor", mail: mailSpec{Kind: "inline", Before: quoted, Headers: []string{ng}}, reason: "*"},
		{name: "control header", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng, "Control: cancel <x@y>"}}, reason: ReasonControl},
		{name: "supersedes header", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng, "Supersedes: <x@y>"}}, reason: ReasonControl},
		{name: "also-control header", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng, "Also-Control: cancel <x@y>"}}, reason: ReasonControl},
		{name: "group not carried", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{"Newsgroups: alt.test"}}, reason: ReasonGroup},
		{name: "crosspost to a group not carried", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{"Newsgroups: alt.crypt.messages, alt.test"}}, reason: ReasonGroup},
		{name: "no group, the one carried", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}}},
		{name: "no group, two carried", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}}, cfg: Config{Groups: []string{"alt.crypt.messages", "alt.crypt.test"}}, reason: ReasonNoGroup},
		{name: "too large", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng}}, cfg: Config{MaxSize: 500}, reason: ReasonTooLarge},

		{name: "group from To", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}}, cfg: Config{GroupFromAddress: true}},
		{name: "group from envelope recipient", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{"To: someone@else.example"}},
			cfg: Config{GroupFromAddress: true}, recipients: []string{"mail2news-alt.crypt.messages@gw.example"}},
		{name: "bare group as local part", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{"To: someone@else.example"}},
			cfg: Config{GroupFromAddress: true}, recipients: []string{"alt.crypt.messages@gw.example"}},
		{name: "envelope group not carried", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng}},
			cfg: Config{GroupFromAddress: true}, recipients: []string{"mail2news-alt.test@gw.example"}, reason: ReasonGroup},
		{name: "address names no group, header does", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{ng, "To: postmaster@gw.example"}},
			cfg: Config{GroupFromAddress: true}},
		{name: "other groups configured", mail: mailSpec{Kind: "inline", Armors: [][]byte{a1}, Headers: []string{"Newsgroups: alt.test"}},
			cfg: Config{Groups: []string{"alt.test", "alt.crypt.messages"}}},
	}
	var specs []mailSpec
	for _, tc := range cases {
		if tc.raw == nil {
			specs = append(specs, tc.mail)
		}
	}
	mails := makeMails(t, specs)
	for _, tc := range cases {
		data := tc.raw
		if data == nil {
			data, mails = mails[0], mails[1:]
		}
		t.Run(tc.name, func(t *testing.T) {
			post, err := Prepare(tc.cfg, data, tc.recipients)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				checkArticle(t, post)
				return
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("got %v (%T), want a refusal %s", err, err, tc.reason)
			}
			if tc.reason != "*" && r.Code != tc.reason {
				t.Fatalf("refused with %s, want %s", r, tc.reason)
			}
			if ExitCode(err) != ExitDataErr {
				t.Fatalf("exit code %d, want %d", ExitCode(err), ExitDataErr)
			}
			t.Logf("refused: %s", r)
		})
	}
}

// checkArticle makes sure the article has exactly our three headers and a
// body that is one canonical armored message.
func checkArticle(t *testing.T, post *Post) {
	t.Helper()
	art := post.Article()
	head, body, ok := bytes.Cut(art, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no header/body separator in %q", art)
	}
	lines := strings.Split(string(head), "\r\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Newsgroups: ") || !strings.HasPrefix(lines[1], "Subject: ") || lines[2] != "From: "+AnonymousFrom {
		t.Fatalf("article header is %q", head)
	}
	if !bytes.HasPrefix(body, []byte("-----BEGIN PGP MESSAGE-----\r\n\r\n")) || !bytes.HasSuffix(body, []byte("\r\n-----END PGP MESSAGE-----\r\n")) {
		t.Fatalf("article body is not one canonical armor:\n%s", body)
	}
	if bytes.Contains(bytes.ReplaceAll(body, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatalf("bare LF in the article body")
	}
	for _, leak := range []string{"Version:", "Comment:", "alice", "Alice", "Thunderbird", "192.0.2.7", "sender.example"} {
		if bytes.Contains(art, []byte(leak)) {
			t.Fatalf("article leaks %q:\n%s", leak, art)
		}
	}
}

func TestSubject(t *testing.T) {
	hsubTag := "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4"
	for in, want := range map[string]string{
		hsubTag:                  hsubTag,
		"  " + hsubTag + " ":     hsubTag,
		"":                       "(none)",
		"caf\xc3\xa9":            "(none)",
		"=?utf-8?q?caf=C3=A9?=":  "=?utf-8?q?caf=C3=A9?=",
		strings.Repeat("a", 300): "(none)",
	} {
		if got := subject(in); got != want {
			t.Errorf("subject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSubjectPassedOn(t *testing.T) {
	tag := "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4"
	post, err := Prepare(Config{}, makeMail(t, mailSpec{Kind: "inline", Armors: [][]byte{encrypt(t)}, Headers: []string{ng, "Subject: " + tag}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if post.Subject != tag {
		t.Fatalf("Subject %q, want %q", post.Subject, tag)
	}
}

func TestGroupFromAddress(t *testing.T) {
	cfg := Config{Groups: []string{"alt.crypt.messages", "alt.anonymous.messages"}}
	for addr, want := range map[string]string{
		"mail2news-alt.crypt.messages@gw.example":   "alt.crypt.messages",
		"<Mail2News-Alt.Crypt.Messages@gw.example>": "alt.crypt.messages",
		"m2n+alt.anonymous.messages@gw.example":     "alt.anonymous.messages",
		"alt.crypt.messages@gw.example":             "alt.crypt.messages",
		"mail2news-alt.test@gw.example":             "alt.test",
		"postmaster@gw.example":                     "",
		"mail2news@gw.example":                      "",
		"mail2news-@gw.example":                     "",
		"no-at-sign":                                "",
		"mail2news-alt.crypt.messages\x00@gw":       "",
	} {
		if got := cfg.groupFromAddress(addr); got != want {
			t.Errorf("groupFromAddress(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestClassifyPostError(t *testing.T) {
	// Built in nntp_test.go's terms: *nntp.Error answers.
	for _, tc := range postErrorCases() {
		got := classifyPostError(tc.err)
		if c := Classify(got); c != tc.want {
			t.Errorf("%v: class %v, want %v (%v)", tc.err, c, tc.want, got)
		}
	}
}

func FuzzPrepare(f *testing.F) {
	f.Add([]byte("Newsgroups: alt.crypt.messages\n\n-----BEGIN PGP MESSAGE-----\n\nwcBMA0=\n-----END PGP MESSAGE-----\n"))
	f.Add([]byte("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\nNewsgroups: alt.crypt.messages\n\n--b\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--b\nContent-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n--b--\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\nContent-Transfer-Encoding: base64\n\n--x\nContent-Transfer-Encoding: quoted-printable\n\n=2D=2D\n--x--"))
	f.Fuzz(func(t *testing.T, data []byte) {
		post, err := Prepare(Config{}, data, nil)
		if err == nil {
			if len(post.Groups) == 0 || post.Body == nil {
				t.Fatalf("accepted without group or body")
			}
			return
		}
		if Classify(err) != Refused {
			t.Fatalf("a parse failure must be a refusal, got %v", err)
		}
	})
}

// pgpMIME writes an RFC 3156 mail by hand, for the malformed variants no
// mail library would produce.
func pgpMIME(version, dataType string, armored []byte) []byte {
	return []byte("Newsgroups: alt.crypt.messages\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\r\n\r\n" +
		"--b0\r\nContent-Type: application/pgp-encrypted\r\n\r\n" + version + "\r\n" +
		"--b0\r\nContent-Type: " + dataType + "\r\n\r\n" + string(armored) + "\r\n--b0--\r\n")
}

// BenchmarkPrepare measures parsing and gating one mail of each kind.
func BenchmarkPrepare(b *testing.B) {
	a := encrypt(b)
	kinds := []string{"inline", "qp", "base64", "pgpmime"}
	var specs []mailSpec
	for _, k := range kinds {
		specs = append(specs, mailSpec{Kind: k, Armors: [][]byte{a}, Headers: []string{ng}})
	}
	mails := makeMails(b, specs)
	for i, k := range kinds {
		b.Run(k, func(b *testing.B) {
			b.SetBytes(int64(len(mails[i])))
			for b.Loop() {
				if _, err := Prepare(Config{}, mails[i], nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
