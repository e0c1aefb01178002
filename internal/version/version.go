// Package version says which build of altcrypt a command is, for
// --version: the module version and VCS revision the Go toolchain
// recorded, since the repository keeps no version number by hand.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// String is the one line `CMD --version` prints, e.g.
// "nntpd altcrypt v0.3.0 (rev 0c821ea, go1.26.8)".
func String(cmd string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Sprintf("%s altcrypt (unknown build, %s)", cmd, runtime.Version())
	}
	return format(cmd, info)
}

func format(cmd string, info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	extra := info.GoVersion
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+modified"
		}
		extra = "rev " + rev + ", " + extra
	}
	return fmt.Sprintf("%s altcrypt %s (%s)", cmd, v, extra)
}
