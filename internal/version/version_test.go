package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	cases := []struct {
		info debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{GoVersion: "go1.26"}, "pool altcrypt (devel) (go1.26)"},
		{debug.BuildInfo{GoVersion: "go1.26", Main: debug.Module{Version: "v1.2.3"}}, "pool altcrypt v1.2.3 (go1.26)"},
		{debug.BuildInfo{GoVersion: "go1.26", Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}},
			"pool altcrypt (devel) (rev 0123456789ab+modified, go1.26)"},
	}
	for _, c := range cases {
		if got := format("pool", &c.info); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	if s := String("nntpd"); !strings.HasPrefix(s, "nntpd altcrypt ") {
		t.Errorf("String: %q", s)
	}
}
