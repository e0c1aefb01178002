package nntp

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"GROUP alt.test", "over 1-5", "AUTHINFO PASS a b", "\x00", "\xff", " \t ", "LIST ACTIVE *,!x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		kw, args, err := parseCommand(line)
		if err != nil {
			return
		}
		if kw == "" || kw != strings.ToUpper(kw) || !utf8.ValidString(kw) {
			t.Fatalf("keyword %q", kw)
		}
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, " \t\r\n\x00") {
				t.Fatalf("argument %q", a)
			}
		}
		_ = restAfter(string(line), 2)
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"1", "1-", "1-5", "5-1", "-", "-1", "1--2", "99999999999999999", "0-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		if r.Low < 0 || r.High < -1 {
			t.Fatalf("%q gave %+v", s, r)
		}
		r2, err := ParseRange(r.String())
		if err != nil || r2 != r {
			t.Fatalf("%q: %+v does not round-trip via %q: %+v %v", s, r, r.String(), r2, err)
		}
	})
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"20240101 000000 GMT", "990101 235959", "000229 120000", "20230229 000000", "2024 1", "20241301 000000"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Fields(s)
		tm, err := parseDateTime(args, now)
		if err != nil {
			return
		}
		if tm.Location() != time.UTC || tm.Year() < 0 || tm.Year() > 9999 {
			t.Fatalf("%q gave %v", s, tm)
		}
		if len(args[0]) == 6 && (tm.Year() > now.Year() || tm.Year() <= now.Year()-100) {
			t.Fatalf("two-digit year %q gave %v", s, tm)
		}
	})
}

func TestParseDateTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for s, want := range map[string]string{
		"20240101 010203 GMT": "2024-01-01T01:02:03Z",
		"260101 000000":       "2026-01-01T00:00:00Z",
		"270101 000000":       "1927-01-01T00:00:00Z",
		"991231 235959 gmt":   "1999-12-31T23:59:59Z",
		"000229 000000":       "2000-02-29T00:00:00Z",
		"20230229 000000":     "",
		"2024010 000000":      "",
		"20240101 0000":       "",
		"20240101 240000":     "",
		"20240101 000000 EST": "",
	} {
		got, err := parseDateTime(strings.Fields(s), now)
		if want == "" {
			if err == nil {
				t.Errorf("%q: accepted as %v", s, got)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("%q: %v %v, want %s", s, got, err, want)
		}
	}
}

// FuzzDotRoundTrip: what dotWriter writes, readDot reads back (with line
// endings normalised to CRLF), and readDot never runs past the terminator.
func FuzzDotRoundTrip(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", ".\r\n", "..\n.x", "", "\r\n\r\n", "no newline", ".\n.\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		w := dotWriter{bw}
		w.text(data)
		w.end()
		bw.WriteString("NEXT\r\n")
		bw.Flush()
		br := bufio.NewReader(&buf)
		got, err := readDot(br, 1<<20, 1<<20, 1<<22)
		if err != nil {
			t.Fatal(err)
		}
		want := normalizeLines(data)
		if !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		rest, _ := readLine(br, 512, 1024, nil)
		if string(rest) != "NEXT" {
			t.Fatalf("after the block: %q", rest)
		}
	})
}

// normalizeLines gives every line a CRLF ending, as dotWriter.text does.
func normalizeLines(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		out = append(out, bytes.TrimSuffix(line, []byte{'\r'})...)
		out = append(out, '\r', '\n')
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// FuzzReadDot: arbitrary input never makes readDot return more than the
// limit or panic.
func FuzzReadDot(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "..x\r\n.\r\n", strings.Repeat("x", 5000) + "\r\n.\r\n", ".\n", "abc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		got, err := readDot(br, 100, 50, 1000)
		if err == nil && len(got) > 100 {
			t.Fatalf("%d bytes past the limit", len(got))
		}
	})
}

// TestReadDotLineAcrossBuffer: a line longer than the reader's buffer comes
// in pieces; where its CR ends one piece and the LF starts the next, the
// line still ends in one CRLF (FuzzDotRoundTrip found "\r\r\n" for a
// 4,095-byte line under the default 4,096-byte buffer).
func TestReadDotLineAcrossBuffer(t *testing.T) {
	const size = 16 // bufio's smallest buffer
	for n := 1; n <= 3*size; n++ {
		for _, eol := range []string{"\r\n", "\n"} {
			line := bytes.Repeat([]byte{'x'}, n)
			block := append(append(append([]byte{}, line...), eol...), "y\r\n.\r\nNEXT\r\n"...)
			br := bufio.NewReaderSize(bytes.NewReader(block), size)
			got, err := readDot(br, 1<<20, 1<<20, 1<<22)
			if err != nil {
				t.Fatalf("%d bytes + %q: %v", n, eol, err)
			}
			want := string(line) + "\r\ny\r\n"
			if string(got) != want {
				t.Fatalf("%d bytes + %q: got %q, want %q", n, eol, got, want)
			}
		}
	}
}
