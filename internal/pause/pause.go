// Package pause waits out a delay unless a context ends first: retry and
// poll loops (outfeed, pool, pool run) and the server's delay after a
// failed login all need that, and it is easy to get subtly wrong (a timer
// left running, or time.Sleep deaf to cancellation).
package pause

import (
	"context"
	"time"
)

// For waits d, or until ctx ends; false means ctx ended first.
func For(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
