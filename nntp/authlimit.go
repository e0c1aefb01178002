package nntp

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Defaults for the AUTHINFO limits of Server.
const (
	DefaultMaxAuthFailures     = 3
	DefaultAuthFailureDelay    = time.Second
	DefaultAuthFailuresPerIP   = 10
	DefaultAuthFailuresPerUser = 20
	DefaultAuthFailureWindow   = 10 * time.Minute
	// maxAuthDelay caps the growing delay of one connection's failures.
	maxAuthDelayFactor = 8
	// maxBudgetKeys bounds the failure budgets kept in memory. Past it,
	// new addresses and account names are not tracked (the per-connection
	// limits and the bound on concurrent checks still hold).
	maxBudgetKeys = 50000
)

func (s *Server) maxAuthFailures() int { return orInt(s.MaxAuthFailures, DefaultMaxAuthFailures) }

// authDelay is how long the n-th failure (from 1) of a connection waits
// before it is answered: AuthFailureDelay, doubled for each earlier
// failure, at most 8 times the base.
func (s *Server) authDelay(n int) time.Duration {
	if s.AuthFailureDelay < 0 {
		return 0
	}
	base := orDur(s.AuthFailureDelay, DefaultAuthFailureDelay)
	f := 1 << min(max(n-1, 0), 3)
	return base * time.Duration(min(f, maxAuthDelayFactor))
}

func (s *Server) maxConcurrentAuth() int {
	return orInt(s.MaxConcurrentAuth, max(1, runtime.GOMAXPROCS(0)/2))
}

// authLimits holds the server-wide AUTHINFO state: the semaphore of
// password checks and the failure budgets.
type authLimits struct {
	sem    chan struct{}
	byIP   budget
	byUser budget
}

func (s *Server) auth() *authLimits {
	s.authOnce.Do(func() {
		window := orDur(s.AuthFailureWindow, DefaultAuthFailureWindow)
		s.authState = &authLimits{
			sem:    make(chan struct{}, s.maxConcurrentAuth()),
			byIP:   budget{limit: orInt(s.AuthFailuresPerIP, DefaultAuthFailuresPerIP), window: window},
			byUser: budget{limit: orInt(s.AuthFailuresPerUser, DefaultAuthFailuresPerUser), window: window},
		}
		if s.AuthFailuresPerIP < 0 {
			s.authState.byIP.limit = 0
		}
		if s.AuthFailuresPerUser < 0 {
			s.authState.byUser.limit = 0
		}
	})
	return s.authState
}

// check runs fn (a password check) once a slot is free, or returns ctx's
// error if the connection ends first.
func (a *authLimits) check(ctx context.Context, fn func() error) error {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.sem }()
	return fn()
}

// budget is a failure budget per key that refills evenly: limit failures
// per window, a burst of limit allowed. A limit of 0 means no budget.
type budget struct {
	limit  int
	window time.Duration

	mu   sync.Mutex
	used map[string]*spent
}

type spent struct {
	level float64 // failures not yet refilled
	at    time.Time
}

// level returns e's level at now, refilled since it was last set.
func (b *budget) levelAt(e *spent, now time.Time) float64 {
	refill := now.Sub(e.at).Seconds() * float64(b.limit) / b.window.Seconds()
	return max(0, e.level-refill)
}

// exhausted reports whether key has no failures left.
func (b *budget) exhausted(key string, now time.Time) bool {
	if b.limit <= 0 || key == "" {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.used[key]
	return e != nil && b.levelAt(e, now) > float64(b.limit)-1
}

// fail spends one failure of key.
func (b *budget) fail(key string, now time.Time) {
	if b.limit <= 0 || key == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == nil {
		b.used = map[string]*spent{}
	}
	e := b.used[key]
	if e == nil {
		if len(b.used) >= maxBudgetKeys {
			for k, old := range b.used {
				if b.levelAt(old, now) == 0 {
					delete(b.used, k)
				}
			}
			if len(b.used) >= maxBudgetKeys {
				return
			}
		}
		e = &spent{}
		b.used[key] = e
	}
	e.level, e.at = b.levelAt(e, now)+1, now
}
