package main

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestOptionsDefaults(t *testing.T) {
	o, err := parseOptions(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "127.0.0.1:1119" || o.db != "sqlite:altcrypt.db" || o.groups != "alt.crypt.messages" ||
		o.releaseInterval != time.Minute || o.retention != 30*24*time.Hour || o.idleTimeout < 3*time.Minute ||
		o.logAddresses || o.allowInsecureAuth || o.name == "" {
		t.Errorf("defaults: %+v", o)
	}
}

func TestOptionsEnvAndFlags(t *testing.T) {
	e := env(map[string]string{
		"ALTCRYPT_LISTEN":           "0.0.0.0:119",
		"ALTCRYPT_DB":               "postgres://u@db/news?sslmode=disable",
		"ALTCRYPT_RELEASE_INTERVAL": "0",
		"ALTCRYPT_RETENTION":        "7d",
		"ALTCRYPT_LOG_ADDRESSES":    "true",
		"ALTCRYPT_GROUPS":           "alt.crypt.messages, alt.crypt.test",
		"ALTCRYPT_NAME":             "from-env.example",
	})
	o, err := parseOptions([]string{"--name", "news.example", "--retention=48h"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "0.0.0.0:119" || o.db != "postgres://u@db/news?sslmode=disable" || o.releaseInterval != 0 || !o.logAddresses {
		t.Errorf("env not applied: %+v", o)
	}
	if o.name != "news.example" || o.retention != 48*time.Hour {
		t.Errorf("flags must win over env: name %q retention %v", o.name, o.retention)
	}
	if g := o.groupList(); len(g) != 2 || g[1] != "alt.crypt.test" {
		t.Errorf("groups %q", g)
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{args: []string{"--tls-listen", ":563"}},
		{args: []string{"--tls-cert", "c.pem"}},
		{args: []string{"--retention", "-1h"}},
		{args: []string{"--retention", "xd"}},
		{args: []string{"--listen", ""}},
		{args: []string{"--max-article-size", "10"}},
		{args: []string{"stray"}},
		{env: map[string]string{"ALTCRYPT_IDLE_TIMEOUT": "soon"}},
	} {
		if _, err := parseOptions(tc.args, env(tc.env), io.Discard); err == nil {
			t.Errorf("accepted %q %v", tc.args, tc.env)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact("postgres://user:secret@db/x"); got != "postgres://…@db/x" {
		t.Errorf("redact = %q", got)
	}
}

func TestOpenStoreRefusesUnknown(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, _, err := openStore(t.Context(), "mysql://x", 0, log); err == nil {
		t.Error("accepted mysql")
	}
	if _, _, err := openStore(t.Context(), "sqlite:", 0, log); err == nil {
		t.Error("accepted an empty sqlite path")
	}
}

// TestPrivacyFlags: the defaults of the anonymity flags, each set, and
// each refused out of range.
func TestPrivacyFlags(t *testing.T) {
	o, err := parseOptions(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.maxESKs != 1 || o.releaseMinBatch != 10 || o.releaseMaxWait != time.Hour ||
		o.transitHostTraces || o.transitVisible || o.transitMaxESKs != 0 {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseOptions([]string{"--max-esks", "3", "--release-min-batch", "1", "--release-max-wait", "2m",
		"--transit-refuse-host-traces", "--transit-refuse-visible-recipients", "--transit-max-esks", "1"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.maxESKs != 3 || o.releaseMinBatch != 1 || o.releaseMaxWait != 2*time.Minute ||
		!o.transitHostTraces || !o.transitVisible || o.transitMaxESKs != 1 {
		t.Errorf("set: %+v", o)
	}
	for _, bad := range [][]string{{"--max-esks", "0"}, {"--release-min-batch", "0"}, {"--transit-max-esks", "-1"}} {
		if _, err := parseOptions(bad, env(nil), io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
