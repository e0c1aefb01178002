package mail2news

import (
	"hash/maphash"
	"sync"
	"time"
)

// rateLimiter allows n events per window and key, in fixed windows. Keys
// (client addresses, envelope senders) are kept only as salted 64-bit
// hashes, so the process never holds a list of who sent mail.
type rateLimiter struct {
	n      int
	window time.Duration
	seed   maphash.Seed

	mu     sync.Mutex
	counts map[uint64]*rateWindow
}

type rateWindow struct {
	start time.Time
	count int
}

// maxRateKeys bounds the table; when full, expired windows are swept.
const maxRateKeys = 100000

func newRateLimiter(n int, window time.Duration) *rateLimiter {
	return &rateLimiter{n: n, window: window, seed: maphash.MakeSeed(), counts: make(map[uint64]*rateWindow)}
}

// allow counts one event for key at now and reports whether it is within
// the limit.
func (l *rateLimiter) allow(key string, now time.Time) bool {
	h := maphash.String(l.seed, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.counts[h]
	if !ok || now.Sub(w.start) >= l.window {
		if !ok && len(l.counts) >= maxRateKeys {
			l.sweep(now)
			if len(l.counts) >= maxRateKeys {
				// Under a flood of distinct keys, refuse rather than grow.
				return false
			}
		}
		l.counts[h] = &rateWindow{start: now, count: 1}
		return true
	}
	if w.count >= l.n {
		return false
	}
	w.count++
	return true
}

func (l *rateLimiter) sweep(now time.Time) {
	for k, w := range l.counts {
		if now.Sub(w.start) >= l.window {
			delete(l.counts, k)
		}
	}
}
