package home

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// SettingsFile is the name of the settings file in the pool directory:
// "key = value" lines, # comments. A user sets a proxy or the sending
// delay there once instead of on every command.
const SettingsFile = "settings"

// Settings are the defaults read from the settings file. Flags override
// them; the zero value is what an absent file means.
type Settings struct {
	Proxy        string        // proxy: socks5h://HOST:PORT
	RequireProxy bool          // require-proxy: refuse to connect without a proxy
	Insecure     bool          // insecure: allow plain NNTP to remote servers without TLS
	TLSCA        string        // tls-ca: PEM file of certificates to trust for servers
	SendLater    bool          // send-later: pool send queues in the outbox by default
	DelayMean    time.Duration // delay-mean: mean of the random delay of queued messages
	CoverRate    float64       // cover-rate: dummy posts per day in pool run (0: none)
}

// settingKeys lists every key, for the error on an unknown one.
var settingKeys = []string{"proxy", "require-proxy", "insecure", "tls-ca", "send-later", "delay-mean", "cover-rate"}

// Settings reads the settings file; a missing file gives the zero Settings.
func (h *Home) Settings() (Settings, error) {
	path := filepath.Join(h.Dir, SettingsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("home: %w", err)
	}
	s, err := ParseSettings(data)
	if err != nil {
		return s, fmt.Errorf("home: %s: %w", path, err)
	}
	return s, nil
}

// ParseSettings reads the settings format.
func ParseSettings(data []byte) (Settings, error) {
	var s Settings
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if !ok || key == "" {
			return s, fmt.Errorf("line %d: want key = value", n)
		}
		var err error
		switch key {
		case "proxy":
			s.Proxy = val
		case "require-proxy":
			s.RequireProxy, err = parseBool(val)
		case "insecure":
			s.Insecure, err = parseBool(val)
		case "tls-ca":
			s.TLSCA = val
		case "send-later":
			s.SendLater, err = parseBool(val)
		case "delay-mean":
			s.DelayMean, err = time.ParseDuration(val)
			if err == nil && s.DelayMean < 0 {
				err = errors.New("negative")
			}
		case "cover-rate":
			s.CoverRate, err = strconv.ParseFloat(val, 64)
			if err == nil && (s.CoverRate < 0 || s.CoverRate > 100000) {
				err = errors.New("want posts per day, 0 to 100000")
			}
		default:
			return s, fmt.Errorf("line %d: unknown setting %q (known: %s)", n, key, strings.Join(settingKeys, ", "))
		}
		if err != nil {
			return s, fmt.Errorf("line %d: %s: bad value %q: %v", n, key, val, err)
		}
	}
	return s, sc.Err()
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, errors.New("want yes or no")
}
