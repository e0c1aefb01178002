package gate

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/altcrypt/altcrypt/news"
)

func code(err error) string {
	var r *news.Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

func TestControl(t *testing.T) {
	for _, name := range []string{"Control", "Also-Control", "Supersedes"} {
		err := Control(func(n string) bool { return n == name })
		if code(err) != CodeControl || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := Control(func(string) bool { return false }); err != nil {
		t.Errorf("no control field: %v", err)
	}
}

func TestAllCarried(t *testing.T) {
	carries := func(g string) (bool, error) { return g == "alt.crypt.messages", nil }
	if err := AllCarried([]string{"alt.crypt.messages"}, carries, nil); err != nil {
		t.Error(err)
	}
	down := func(string) (bool, error) { return false, errors.New("store down") }
	var r *news.Refusal
	if err := AllCarried([]string{"alt.crypt.messages"}, down, nil); !errors.As(err, &r) || !r.Temporary || r.Code != CodeTemporary {
		t.Errorf("a failed lookup: %v", err)
	}
	err := AllCarried([]string{"alt.crypt.messages", "alt.test"}, carries, func() string { return "alt.crypt.messages" })
	if code(err) != CodeUnknownGroup || !strings.Contains(err.Error(), "alt.test") || !strings.Contains(err.Error(), "it carries alt.crypt.messages") {
		t.Errorf("got %v", err)
	}
}

// The doors refuse control messages alike before they look at the body,
// so plain text bodies are enough here; each door's own test checks the
// same with real ciphertext.
func TestDoorsRefuseControl(t *testing.T) {
	carries := func(g string) (bool, error) { return g == "alt.crypt.messages", nil }
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, field := range []string{"Control: cancel <a@b>", "Also-Control: cancel <a@b>", "Supersedes: <a@b>"} {
		post := field + "\r\nNewsgroups: alt.crypt.messages\r\nSubject: x\r\n\r\nbody\r\n"
		if _, err := Inject([]byte(post), InjectPolicy{Carries: carries, Policy: DefaultPolicy()}); code(err) != CodeControl {
			t.Errorf("inject %s: %v", field, err)
		}
		relayed := field + "\r\nPath: peer!x\r\nFrom: a <b@c>\r\nNewsgroups: alt.crypt.messages\r\nSubject: x\r\n" +
			"Message-ID: <1@x>\r\nDate: " + now.Format(time.RFC1123Z) + "\r\n\r\nbody\r\n"
		rl := Relay{Policy: DefaultPolicy(), PathNames: []string{"us"}, HistoryWindow: time.Hour, FutureSkew: time.Hour}
		_, err := rl.Check([]byte(relayed), "<1@x>", now, func(g []string) ([]string, error) { return g, nil })
		if code(err) != CodeControl {
			t.Errorf("relay %s: %v", field, err)
		}
	}
}

func TestRelayRules(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	art := func(path string, date time.Time, groups string) []byte {
		return []byte("Path: " + path + "\r\nFrom: a <b@c>\r\nNewsgroups: " + groups + "\r\nSubject: x\r\n" +
			"Message-ID: <1@x>\r\nDate: " + date.Format(time.RFC1123Z) + "\r\n\r\nbody\r\n")
	}
	rl := Relay{Policy: DefaultPolicy(), PathNames: []string{"us.example"}, HistoryWindow: time.Hour, FutureSkew: time.Hour}
	none := func([]string) ([]string, error) { return nil, nil }
	all := func(g []string) ([]string, error) { return g, nil }
	down := errors.New("store down")
	for _, c := range []struct {
		name    string
		raw     []byte
		id      string
		carried func([]string) ([]string, error)
		want    string
	}{
		{"mismatch", art("p!x", now, "a.b"), "<2@x>", all, CodeMessageIDMismatch},
		{"loop", art("p!us.example!x", now, "a.b"), "<1@x>", all, CodePathLoop},
		{"old", art("p!x", now.Add(-2*time.Hour), "a.b"), "<1@x>", all, CodeTooOld},
		{"new", art("p!x", now.Add(2*time.Hour), "a.b"), "<1@x>", all, CodeTooNew},
		{"not carried", art("p!x", now, "a.b"), "<1@x>", none, CodeNoCarriedGroup},
		{"plain text", art("p!x", now, "a.b"), "<1@x>", all, "text-before-armor"},
	} {
		_, err := rl.Check(c.raw, c.id, now, c.carried)
		if got := code(err); got != c.want && !(c.name == "plain text" && got != "") {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	_, err := rl.Check(art("p!x", now, "a.b"), "<1@x>", now, func([]string) ([]string, error) { return nil, down })
	if !errors.Is(err, down) || code(err) != "" {
		t.Errorf("a failed lookup is not temporary: %v", err)
	}
}

func TestVerifyLimits(t *testing.T) {
	p := DefaultPolicy()
	if _, err := Verify([]byte("Subject: x\r\n"), -1, false, p, 0); code(err) != CodeNoSeparator {
		t.Errorf("no separator: %v", err)
	}
	big := []byte(strings.Repeat("X-A: b\r\n", 20))
	if _, err := Verify(big, -1, false, p, 64); code(err) != CodeHeaderTooLarge {
		t.Errorf("header too large: %v", err)
	}
	if _, err := Verify(nil, int64(ReadLimit(true, p, 0))+1, true, p, 0); code(err) != CodeBodyTooLarge {
		t.Errorf("body too large: %v", err)
	}
	if _, err := Verify(nil, int64(ReadLimit(false, p, 0))+1, false, p, 0); code(err) != CodeArticleTooLarge {
		t.Errorf("article too large: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"), false)
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\r\n\r\n-----END PGP MESSAGE-----\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, body bool) {
		v, err := Verify(data, int64(len(data)), body, DefaultPolicy(), 256)
		if (v == nil) == (err == nil) {
			t.Fatalf("verdict %v and error %v", v, err)
		}
		if err != nil && code(err) == "" {
			t.Fatalf("untyped refusal %v", err)
		}
	})
}
