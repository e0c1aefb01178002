package news

import (
	"testing"
)

const ourName = "us.example.test"

func TestRelayBytes(t *testing.T) {
	cases := []struct{ header, want string }{
		{"From: a\r\nPath: x!y\r\n", "From: a\r\nPath: " + ourName + "!x!y\r\n"},
		{"path:x!y\r\n", "path:" + ourName + "!x!y\r\n"},
		{"PATH:  \tx\r\n", "PATH:  \t" + ourName + "!x\r\n"},
		{"Path: " + ourName + "!not-for-mail\r\n", "Path: " + ourName + "!not-for-mail\r\n"},
		{"Path: " + ourName + "x!y\r\n", "Path: " + ourName + "!" + ourName + "x!y\r\n"},
		{"X-Path: a\r\nSubject: b\r\n", "Path: " + ourName + "!not-for-mail\r\nX-Path: a\r\nSubject: b\r\n"},
	}
	for _, c := range cases {
		got := RelayBytes([]byte(c.header), []byte("body\r\n"), ourName)
		want := c.want + "\r\nbody\r\n"
		if string(got) != want {
			t.Errorf("RelayBytes(%q) = %q, want %q", c.header, got, want)
		}
	}
}

func TestInPath(t *testing.T) {
	for _, c := range []struct {
		path, name string
		want       bool
	}{
		{"a.example!not-for-mail", "news.example.net", false},
		{"news.example.net!x!not-for-mail", "news.example.net", true},
		{"a!News.Example.NET!not-for-mail", "news.example.net", true},
		{"a!!news.example.net!x", "news.example.net", true},
		{"a!.POSTED.news.example.net!x", "news.example.net", false},
		{"news.example.network!x", "news.example.net", false},
		{"a!b", "", false},
	} {
		if got := InPath(c.path, c.name); got != c.want {
			t.Errorf("InPath(%q, %q) = %v", c.path, c.name, got)
		}
	}
}

func TestCheckPathName(t *testing.T) {
	for name, ok := range map[string]bool{
		"news.example.net": true, "a_b-c": true,
		"": false, "a!b": false, "a b": false, "caf\xc3\xa9": false,
	} {
		if err := CheckPathName(name); (err == nil) != ok {
			t.Errorf("CheckPathName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
