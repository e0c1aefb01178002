package peers

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/altcrypt/altcrypt/news"
)

const example = `
# our peers
peer inn1 {
    accept-from: 127.0.0.1, 2001:db8::/32   # addresses allowed to feed us as this peer
    path:        news.example.net             # the name it puts in Path: never offered back
    send-to:     news.example.net:119         # where we feed it
    groups:      alt.crypt.*                  # wildmat of groups we send
    streaming:   yes                          # CHECK/TAKETHIS; no = IHAVE
    connections: 2
    tls:         no
    user:        feeder                       # AUTHINFO we send, if the peer wants it
    password:    secret
}

peer leaf {
    accept-from: 192.0.2.0/24
}

peer roaming {
    accept-user: roamer
}

peer out-only {
    send-to: [2001:db8::1]:563
    groups: alt.*, !alt.binaries.*
    streaming: no
    tls: yes
}
`

func TestParseExample(t *testing.T) {
	f, err := Parse(strings.NewReader(example))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Peers) != 4 {
		t.Fatalf("got %d peers", len(f.Peers))
	}
	p := f.Peer("inn1")
	if p == nil || p.Path != "news.example.net" || p.SendTo != "news.example.net:119" || !p.Streaming ||
		p.Connections != 2 || p.TLS || p.User != "feeder" || p.Password != "secret" || len(p.AcceptFrom) != 2 || p.Line != 3 {
		t.Fatalf("inn1 = %+v", p)
	}
	if !p.Groups.Match("alt.crypt.messages") || p.Groups.Match("alt.test") {
		t.Error("inn1 groups wildmat")
	}
	leaf := f.Peer("leaf")
	if leaf.Path != "leaf" || leaf.Sends() || leaf.Connections != 1 {
		t.Errorf("leaf = %+v", leaf)
	}
	o := f.Peer("out-only")
	if o.Streaming || !o.TLS || !o.Groups.Match("alt.crypt.messages") || o.Groups.Match("alt.binaries.x") {
		t.Errorf("out-only = %+v", o)
	}
	if s := f.Senders(); len(s) != 2 || s[0].Name != "inn1" || s[1].Name != "out-only" {
		t.Errorf("senders = %v", s)
	}
}

func TestMatch(t *testing.T) {
	f, err := Parse(strings.NewReader(example + `
peer pinned {
    accept-from: 198.51.100.7
    accept-user: pin
}
`))
	if err != nil {
		t.Fatal(err)
	}
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cases := []struct {
		addr net.Addr
		user string
		want string
	}{
		{tcp("127.0.0.1:4000"), "", "inn1"},
		{tcp("[::ffff:127.0.0.1]:4000"), "", "inn1"},
		{tcp("[2001:db8:5::9]:1"), "", "inn1"},
		{tcp("[2001:db9::9]:1"), "", ""},
		{tcp("192.0.2.200:119"), "", "leaf"},
		{tcp("10.0.0.1:119"), "", ""},
		{tcp("10.0.0.1:119"), "roamer", "roaming"},
		{tcp("10.0.0.1:119"), "stranger", ""},
		{tcp("198.51.100.7:1"), "", ""},
		{tcp("198.51.100.7:1"), "pin", "pinned"},
		{tcp("198.51.100.8:1"), "pin", ""},
		{tcp("192.0.2.1:1"), "roamer", "roaming"}, // account first
		{nil, "", ""},
		{&net.UnixAddr{Name: "@", Net: "unix"}, "", ""},
	}
	for _, c := range cases {
		got := ""
		if p := f.Match(c.addr, c.user); p != nil {
			got = p.Name
		}
		if got != c.want {
			t.Errorf("Match(%v, %q) = %q, want %q", c.addr, c.user, got, c.want)
		}
	}
	var nilFile *File
	if nilFile.Match(tcp("127.0.0.1:1"), "") != nil {
		t.Error("nil file matched")
	}
}

func TestWantsAndInPath(t *testing.T) {
	f, err := Parse(strings.NewReader(example))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Peer("inn1")
	cases := []struct {
		groups []string
		path   string
		want   bool
	}{
		{[]string{"alt.crypt.messages"}, "a.example!not-for-mail", true},
		{[]string{"alt.test", "alt.crypt.messages"}, "x", true},
		{[]string{"alt.test"}, "x", false},
		{[]string{"alt.crypt.messages"}, "news.example.net!x!not-for-mail", false},
		{[]string{"alt.crypt.messages"}, "a!News.Example.NET!not-for-mail", false},
		{[]string{"alt.crypt.messages"}, "a!!news.example.net!x", false},
		{[]string{"alt.crypt.messages"}, "a!.POSTED.news.example.net!x", true},
		{[]string{"alt.crypt.messages"}, "news.example.network!x", true},
	}
	for _, c := range cases {
		if got := p.Wants(c.groups, c.path); got != c.want {
			t.Errorf("Wants(%v, %q) = %v", c.groups, c.path, got)
		}
	}
	if f.Peer("leaf").Wants([]string{"alt.crypt.messages"}, "x") {
		t.Error("a peer without send-to wants articles")
	}
	if news.InPath("a!b", "") {
		t.Error("empty name in path")
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in   string
		line int
		frag string
	}{
		{"peer a {\n accept-from: 1.2.3.4\n", 1, "missing closing }"},
		{"peer a\n", 1, `expected "peer NAME {"`},
		{"send-to: x:1\n", 1, `expected "peer NAME {"`},
		{"peer a {\n bogus: 1\n}\n", 2, `unknown key "bogus"`},
		{"peer a {\n accept-from: example.net\n}\n", 2, "host names are not resolved"},
		{"peer a {\n accept-from: 1.2.3.4/40\n}\n", 2, "address/bits"},
		{"peer a {\n send-to: example.net\n}\n", 2, "not host:port"},
		{"peer a {\n send-to: example.net:0\n}\n", 2, "port 1-65535"},
		{"peer a {\n send-to: h:1\n connections: 0\n}\n", 3, "connections"},
		{"peer a {\n send-to: h:1\n connections: 65\n}\n", 3, "connections"},
		{"peer a {\n send-to: h:1\n streaming: maybe\n}\n", 3, "not yes or no"},
		{"peer a {\n send-to: h:1\n groups: [abc]\n}\n", 3, "not a wildmat"},
		{"peer a {\n send-to: h:1\n groups: !alt.*\n}\n", 3, "not a wildmat"},
		{"peer a {\n send-to: h:1\n user: u\n}\n", 4, "user and password"},
		{"peer a {\n accept-from: 1.2.3.4\n groups: alt.*\n}\n", 3, "needs send-to"},
		{"peer a {\n}\n", 2, "neither feeds us"},
		{"peer a {\n send-to: h:1\n send-to: h:2\n}\n", 3, "given twice (first on line 2)"},
		{"peer a {\n send-to: h:1\n}\npeer a {\n send-to: h:1\n}\n", 4, "defined twice"},
		{"peer a! {\n}\n", 1, "invalid peer name"},
		{"peer a {\n path: a!b\n send-to: h:1\n}\n", 2, "not one Path entry"},
		{"peer a {\n send-to:\n}\n", 2, "empty value"},
		{"peer a {\n send-to h:1\n}\n", 2, `expected "key: value"`},
		{"peer a {\n user: a\x01b\n}\n", 2, "control character"},
		{"peer a {\n user: " + strings.Repeat("x", MaxLineLength+10) + "\n}\n", 2, "longer than"},
	}
	for _, c := range cases {
		_, err := Parse(strings.NewReader(c.in))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: err = %v, want *Error", c.in, err)
			continue
		}
		if pe.Line != c.line || !strings.Contains(pe.Error(), c.frag) {
			t.Errorf("%q: err = %v, want line %d containing %q", c.in, err, c.line, c.frag)
		}
	}
	if _, err := Parse(strings.NewReader(strings.Repeat("#", MaxFileSize+1))); err == nil {
		t.Error("oversized file accepted")
	}
}

func TestParseCompactBrace(t *testing.T) {
	f, err := Parse(strings.NewReader("peer x{\n  send-to: h:119\n}\n"))
	if err != nil || f.Peer("x") == nil {
		t.Fatal(f, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(example)
	f.Add("peer a {\n send-to: h:1\n}\n")
	f.Add("peer a {\n accept-from: ::1/128, 10.0.0.0/8\n}\n")
	f.Fuzz(func(t *testing.T, s string) {
		file, err := Parse(strings.NewReader(s))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("non-parse error %v", err)
			}
			return
		}
		for _, p := range file.Peers {
			if p.Name == "" || p.Path == "" || p.Groups == nil || p.Connections < 1 {
				t.Fatalf("incomplete peer %+v", p)
			}
			p.Wants([]string{"alt.crypt.messages"}, "a!b")
		}
		file.Match(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, "u")
	})
}

func TestExampleFileParses(t *testing.T) {
	f, err := Load("peers.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Peers) != 2 || len(f.Senders()) != 1 {
		t.Fatalf("peers %v", f.Peers)
	}
}

func TestReplace(t *testing.T) {
	f, err := Parse(strings.NewReader("peer a {\n accept-from: 192.0.2.1\n path: a.example\n}\npeer b {\n accept-from: 192.0.2.2\n path: b.example\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(strings.NewReader("peer b {\n accept-from: 192.0.2.3\n path: b.example\n}\npeer c {\n accept-from: 192.0.2.4\n path: c.example\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	added, removed, changed := f.Replace(n)
	if fmt.Sprint(added, removed, changed) != "[c] [a] [b]" {
		t.Fatalf("added %v removed %v changed %v", added, removed, changed)
	}
	if f.Peer("a") != nil || f.Peer("c") == nil {
		t.Fatal("peers not replaced")
	}
}
