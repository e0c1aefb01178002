package article

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestParseSplit(t *testing.T) {
	raw := crlf("Path: a!b\nSubject: hello\n  world\nX-Empty:\n\nbody line 1\nline 2\n")
	a, err := Parse(raw, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := crlf("Path: a!b\nSubject: hello\n  world\nX-Empty:\n"); !bytes.Equal(a.Header, want) {
		t.Errorf("Header = %q, want %q", a.Header, want)
	}
	if want := crlf("body line 1\nline 2\n"); !bytes.Equal(a.Body, want) {
		t.Errorf("Body = %q, want %q", a.Body, want)
	}
	if len(a.Fields) != 3 {
		t.Fatalf("%d fields", len(a.Fields))
	}
	// No copies: header and body alias the input.
	if &a.Header[0] != &raw[0] || &a.Body[0] != &raw[len(a.Header)+2] {
		t.Error("Header or Body is not a slice of the input")
	}
	if got := string(a.Fields[1].Raw); got != "Subject: hello\r\n  world\r\n" {
		t.Errorf("raw Subject = %q", got)
	}
	if got := a.Get("SUBJECT"); got != "hello  world" {
		t.Errorf("Get(SUBJECT) = %q", got)
	}
	if got := a.Get("x-empty"); got != "" || !a.Has("X-EMPTY") {
		t.Errorf("X-Empty = %q, has %v", got, a.Has("X-EMPTY"))
	}
	if a.Has("From") || a.Get("From") != "" {
		t.Error("From found in an article without one")
	}
	if CountLines(a.Body) != 2 {
		t.Errorf("lines = %d", CountLines(a.Body))
	}
}

func TestParseCases(t *testing.T) {
	long := "X: " + strings.Repeat("a", 1000) + "\r\n\r\n"
	many := strings.Repeat("X: y\r\n", 300) + "\r\n"
	tests := []struct {
		name     string
		raw      string
		code     string // "" = accepted
		fields   int
		body     string
		repeated int // count of "X"
	}{
		{"empty article", "", "", 0, "", 0},
		{"only blank line", "\r\n", "", 0, "", 0},
		{"only body", "\r\nbody\r\n", "", 0, "body\r\n", 0},
		{"no blank line", "A: b\r\n", "", 1, "", 0},
		{"LF only", "A: b\nC: d\n\nbody\n", "", 2, "body\n", 0},
		{"repeated", "X: 1\r\nX: 2\r\nx: 3\r\n\r\n", "", 3, "", 3},
		{"tab continuation", "A: b\r\n\tc\r\n\r\n", "", 1, "", 0},
		{"no colon", "nonsense\r\n\r\n", CodeMalformed, 0, "", 0},
		{"empty name", ": v\r\n\r\n", CodeMalformed, 0, "", 0},
		{"space in name", "A B: v\r\n\r\n", CodeMalformed, 0, "", 0},
		{"leading continuation", " v\r\nA: b\r\n\r\n", CodeMalformed, 0, "", 0},
		{"NUL in header", "A: b\x00c\r\n\r\n", CodeMalformed, 0, "", 0},
		{"bare CR in header", "A: b\rc\r\n\r\n", CodeMalformed, 0, "", 0},
		{"unterminated line", "A: b", CodeMalformed, 0, "", 0},
		{"long line", long, CodeMalformed, 0, "", 0},
		{"too many fields", many, CodeTooLarge, 0, "", 0},
		{"NUL in body is the body's business", "A: b\r\n\r\nx\x00y", "", 1, "x\x00y", 0},
		{"utf-8 value", "Subject: caf\xc3\xa9\r\n\r\n", "", 1, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.raw), Limits{})
			if tt.code != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.code {
					t.Fatalf("err = %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Fields) != tt.fields {
				t.Errorf("fields = %d, want %d", len(a.Fields), tt.fields)
			}
			if string(a.Body) != tt.body {
				t.Errorf("body = %q, want %q", a.Body, tt.body)
			}
			if n := a.Count("x"); n != tt.repeated {
				t.Errorf("Count(x) = %d, want %d", n, tt.repeated)
			}
			if got := len(a.Header) + len(a.Body); got > len(tt.raw) {
				t.Errorf("header+body = %d octets, more than the input", got)
			}
		})
	}
}

func TestHeaderSizeLimit(t *testing.T) {
	raw := []byte(strings.Repeat("X: 0123456789\r\n", 100) + "\r\n")
	if _, err := Parse(raw, Limits{MaxHeaderBytes: 1000, MaxFields: 1000}); err == nil {
		t.Fatal("accepted a header over the limit")
	}
	if _, err := Parse(raw, Limits{MaxHeaderBytes: 2000, MaxFields: 1000}); err != nil {
		t.Fatal(err)
	}
}

func TestValues(t *testing.T) {
	a, err := Parse(crlf("Received: a\nreceived: b\n c\nOther: x\n\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := a.Values("RECEIVED")
	if len(got) != 2 || got[0] != "a" || got[1] != "b c" {
		t.Errorf("Values = %q", got)
	}
}

const transitArticle = `Path: peer.example!not-for-mail
From: Anonymous <nobody@invalid>
Newsgroups: alt.crypt.messages
Subject: 0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4
Message-ID: <abc@peer.example>
Date: Wed, 25 Nov 2026 10:00:00 +0000
References: <x@y>
	<z@w>

-----BEGIN PGP MESSAGE-----
abc
-----END PGP MESSAGE-----
`

func TestOverview(t *testing.T) {
	raw := crlf(transitArticle)
	a, err := Parse(raw, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ov := a.Overview()
	want := Overview{
		Subject:    "0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4",
		From:       "Anonymous <nobody@invalid>",
		Date:       "Wed, 25 Nov 2026 10:00:00 +0000",
		MessageID:  "<abc@peer.example>",
		References: "<x@y> <z@w>",
		Bytes:      int64(len(raw)),
		Lines:      3,
	}
	if ov != want {
		t.Errorf("Overview = %+v\nwant %+v", ov, want)
	}
	if err := a.CheckTransit(); err != nil {
		t.Errorf("CheckTransit: %v", err)
	}
	d, err := a.Date()
	if err != nil || d.Unix() != 1795600800 {
		t.Errorf("Date = %v, %v", d, err)
	}
}

func TestCheckTransit(t *testing.T) {
	base := transitArticle
	tests := []struct {
		name, from, to, code string
	}{
		{"no Path", "Path: peer.example!not-for-mail\n", "", CodeMissingHeader},
		{"no Date", "Date: Wed, 25 Nov 2026 10:00:00 +0000\n", "", CodeMissingHeader},
		{"no From", "From: Anonymous <nobody@invalid>\n", "", CodeMissingHeader},
		{"no Subject", "Subject: 0b07815eac0b4631e8814855af5bf9f5c691f36ddd47c7b4\n", "", CodeMissingHeader},
		{"two Subjects", "Subject: ", "Subject: a\nSubject: ", CodeDuplicate},
		{"bad message-id", "<abc@peer.example>", "<abc peer.example>", CodeMessageID},
		{"bad newsgroups", "Newsgroups: alt.crypt.messages", "Newsgroups: alt..x", CodeNewsgroups},
		{"bad date", "Wed, 25 Nov 2026 10:00:00 +0000", "yesterday", CodeDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(crlf(strings.Replace(base, tt.from, tt.to, 1)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var e *Error
			if err := a.CheckTransit(); !errors.As(err, &e) || e.Code != tt.code {
				t.Errorf("CheckTransit = %v, want code %s", err, tt.code)
			}
		})
	}
}

func TestOverviewReplacesControls(t *testing.T) {
	a, err := Parse([]byte("Subject: a\tb\r\n\r\n"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Overview().Subject; got != "a b" {
		t.Errorf("Subject = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(crlf(transitArticle))
	f.Add([]byte("A: b\r\n c\r\n\r\nbody"))
	f.Add([]byte("\r\n"))
	f.Add([]byte("A: b\nC: d\n\nbody\n"))
	f.Add([]byte(" x\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := Parse(raw, Limits{MaxHeaderBytes: 4096, MaxFields: 50, MaxLineLength: 200})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if len(a.Header) > 4096+200 {
			t.Fatalf("header of %d octets passed the limit", len(a.Header))
		}
		if len(a.Fields) > 50 {
			t.Fatalf("%d fields passed the limit", len(a.Fields))
		}
		// Header, separator and body make up the input.
		if !bytes.HasPrefix(raw, a.Header) || !bytes.HasSuffix(raw, a.Body) {
			t.Fatal("header or body is not part of the input")
		}
		// The fields' raw bytes, concatenated, are the header.
		var joined []byte
		for _, fl := range a.Fields {
			joined = append(joined, fl.Raw...)
		}
		if !bytes.Equal(joined, a.Header) {
			t.Fatalf("fields %q do not rebuild header %q", joined, a.Header)
		}
		for i := range a.Fields {
			_ = a.Fields[i].Value()
		}
		_ = a.Overview()
		_ = a.CheckTransit()
	})
}
