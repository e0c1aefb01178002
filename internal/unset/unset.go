// Package unset fills in the settings a Config left unset. Each piece's
// New used to spell "if cfg.X <= 0 { cfg.X = DefaultX }" once per field;
// one helper says it once.
package unset

// Or returns v, or def when v is zero or negative: for counts, sizes and
// durations, where neither means anything but "not set".
func Or[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
