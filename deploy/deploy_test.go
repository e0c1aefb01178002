package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var units = []string{"altcrypt-nntpd.service", "altcrypt-gateway-smtp.service"}

// TestUnitsVerify runs systemd-analyze verify on each unit, with ExecStart
// pointed at an executable that exists here (verify checks that), and
// wants no complaint at all: an unknown or misspelt directive is only a
// warning to systemd, and would silently drop a protection.
func TestUnitsVerify(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "/usr/local/bin/nntpd", self)
		s = strings.ReplaceAll(s, "/usr/local/bin/gateway", self)
		if err := os.WriteFile(filepath.Join(dir, u), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("systemd-analyze", "verify", "--man=no", "./"+u)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, out)
		}
		// The overall exposure systemd computes (0 best, 10 worst); ours
		// is 1.7, "OK". A protection dropped by mistake raises it.
		cmd = exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", "./"+u)
		cmd.Dir = dir
		out, err = cmd.CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("systemd-analyze security %s: %v\n%s", u, err, out)
		}
		if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2 {
			t.Errorf("%s: exposure level %.1f, want at most 2\n%s", u, level, out)
		}
	}
}

// TestUnitsHardening checks the settings the units promise, so that an
// edit cannot drop one unnoticed.
func TestUnitsHardening(t *testing.T) {
	want := map[string]string{
		"Type":                  "notify",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"AmbientCapabilities":   "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
		"ProtectHome":           "yes",
		"PrivateTmp":            "yes",
	}
	for _, u := range units {
		keys := readUnit(t, u)
		for k, v := range want {
			if got := keys[k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s=%q, want %q", u, k, got, v)
			}
		}
		if user := keys["User"]; len(user) != 1 || user[0] == "root" || user[0] == "" {
			t.Errorf("%s: User=%q, want its own user", u, user)
		}
	}
	nntpd := readUnit(t, "altcrypt-nntpd.service")
	if got := nntpd["StateDirectory"]; len(got) != 1 || got[0] != "altcrypt" {
		t.Errorf("nntpd StateDirectory=%q", got)
	}
	found := false
	for _, e := range nntpd["Environment"] {
		found = found || e == "ALTCRYPT_DB=sqlite:/var/lib/altcrypt/altcrypt.db"
	}
	if !found {
		t.Errorf("nntpd: the SQLite default is not in the state directory: %q", nntpd["Environment"])
	}
	// Every user a unit names is created by the sysusers file.
	sysusers, err := os.ReadFile("altcrypt.sysusers.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		user := readUnit(t, u)["User"][0]
		if !regexp.MustCompile(`(?m)^u ` + regexp.QuoteMeta(user) + ` `).Match(sysusers) {
			t.Errorf("%s: user %s is not in altcrypt.sysusers.conf", u, user)
		}
	}
}

// readUnit returns a unit's "Key=value" settings; a key may repeat.
func readUnit(t *testing.T, name string) map[string][]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q", name, line)
		}
		keys[k] = append(keys[k], v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestAlertRules checks the example alert rules with Prometheus's own
// tool: they parse, and each fires on the situation alerts_test.yml sets
// up (a growing queue, a refusal spike, slow commits) and not before.
func TestAlertRules(t *testing.T) {
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		out, err := exec.Command("promtool", args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
