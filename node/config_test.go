package node

import (
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/gate"
)

// TestDefaults: a zero Config takes the defaults nntpd's flags show, and
// a setting given is kept.
func TestDefaults(t *testing.T) {
	d := Config{}.withDefaults()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Name", d.Name, "altcrypt.invalid"},
		{"Domain", d.Domain, "altcrypt.invalid"},
		{"From", d.From, "Anonymous <nobody@invalid>"},
		{"Groups", strings.Join(d.Groups, ","), "alt.crypt.messages"},
		{"ReleaseInterval (0: at once)", d.ReleaseInterval, time.Duration(0)},
		{"MinBatch", d.MinBatch, 10},
		{"MaxWait", d.MaxWait, time.Hour},
		{"MaxInjectESKs", d.MaxInjectESKs, 1},
		{"Retention", d.Retention, 30 * 24 * time.Hour},
		{"HistoryRetention", d.HistoryRetention, 60 * 24 * time.Hour},
		{"MaxArticleSize", d.MaxArticleSize, 256 << 10},
		{"IdleTimeout", d.IdleTimeout, 3 * time.Minute},
		{"MaxConnections", d.MaxConnections, 1000},
		{"MaxConnectionsPerIP", d.MaxConnectionsPerIP, 16},
		{"ShutdownGrace", d.ShutdownGrace, 30 * time.Second},
		{"Logger set", d.Logger != nil, true},
		{"policy body limit", d.policy().MaxBodySize, 256 << 10},
		{"policy otherwise the gate's", func() any {
			p := d.policy()
			p.MaxBodySize = 0
			q := gate.DefaultPolicy()
			q.MaxBodySize = 0
			return p == q
		}(), true},
		{"DefaultReleaseInterval (nntpd)", DefaultReleaseInterval, time.Minute},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	given := Config{Name: "news.example", MinBatch: 1, MaxConnections: -1, Retention: time.Hour, MaxArticleSize: 4096}.withDefaults()
	if given.Name != "news.example" || given.Domain != "news.example" || given.MinBatch != 1 || given.MaxConnections != -1 ||
		given.Retention != time.Hour || given.policy().MaxBodySize != 4096 {
		t.Errorf("given settings changed: %+v", given)
	}
}
