package home

import (
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	tests := []struct {
		in   string
		want Settings
		err  string
	}{
		{"", Settings{}, ""},
		{"# comment only\n\n", Settings{}, ""},
		{"proxy = socks5h://127.0.0.1:9050  # Tor\nrequire-proxy = yes\n", Settings{Proxy: "socks5h://127.0.0.1:9050", RequireProxy: true}, ""},
		{"send-later=on\ndelay-mean = 30m\ncover-rate = 24\ninsecure = no\ntls-ca = /etc/ca.pem\n",
			Settings{SendLater: true, DelayMean: 30 * time.Minute, CoverRate: 24, TLSCA: "/etc/ca.pem"}, ""},
		{"Require-Proxy = TRUE\r\n", Settings{RequireProxy: true}, ""},
		{"proxy socks5h://x:1\n", Settings{}, "line 1: want key = value"},
		{"\nproxi = x\n", Settings{}, `line 2: unknown setting "proxi"`},
		{"require-proxy = maybe\n", Settings{}, "want yes or no"},
		{"delay-mean = -1m\n", Settings{}, "negative"},
		{"delay-mean = 30\n", Settings{}, "delay-mean"},
		{"cover-rate = -1\n", Settings{}, "posts per day"},
	}
	for _, tt := range tests {
		got, err := ParseSettings([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestSettingsFile(t *testing.T) {
	h, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if s, err := h.Settings(); err != nil || s != (Settings{}) {
		t.Fatalf("no file: %+v, %v", s, err)
	}
}

func FuzzParseSettings(f *testing.F) {
	f.Add("proxy = socks5h://127.0.0.1:9050\nrequire-proxy = yes\n")
	f.Add("delay-mean = 30m # x\ncover-rate=2.5")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseSettings([]byte(s))
		if err == nil && (st.DelayMean < 0 || st.CoverRate < 0) {
			t.Fatalf("%q: accepted %+v", s, st)
		}
	})
}
