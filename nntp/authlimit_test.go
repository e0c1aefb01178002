package nntp

import (
	"net"
	"testing"
	"time"
)

func TestAuthDelayGrows(t *testing.T) {
	s := &Server{AuthFailureDelay: 10 * time.Millisecond}
	for n, want := range []time.Duration{10, 10, 20, 40, 80, 80, 80} {
		if got := s.authDelay(n); got != want*time.Millisecond {
			t.Errorf("failure %d: delay %v, want %v", n, got, want*time.Millisecond)
		}
	}
	if d := (&Server{}).authDelay(1); d != DefaultAuthFailureDelay {
		t.Errorf("default delay %v", d)
	}
	if d := (&Server{AuthFailureDelay: -1}).authDelay(5); d != 0 {
		t.Errorf("delay off: %v", d)
	}
}

func TestBudgetRefills(t *testing.T) {
	b := budget{limit: 3, window: time.Minute}
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if b.exhausted("k", t0) {
			t.Fatalf("exhausted after %d failures", i)
		}
		b.fail("k", t0)
	}
	if !b.exhausted("k", t0) || b.exhausted("other", t0) || b.exhausted("", t0) {
		t.Fatal("budget not kept per key")
	}
	// One failure's worth refills in window/limit.
	if b.exhausted("k", t0.Add(20*time.Second+time.Millisecond)) != false {
		t.Fatal("budget did not refill")
	}
	if !b.exhausted("k", t0.Add(19*time.Second)) {
		t.Fatal("budget refilled too early")
	}
	off := budget{limit: 0, window: time.Minute}
	off.fail("k", t0)
	if off.exhausted("k", t0) {
		t.Fatal("a zero budget limits")
	}
}

func TestIPKey(t *testing.T) {
	for _, c := range []struct {
		addr string
		loop bool
		want string
	}{
		{"192.0.2.7:119", false, "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:119", false, "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:5", false, "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:119", false, "192.0.2.7"},
		{"127.0.0.1:119", false, ""},
		{"127.0.0.1:119", true, "127.0.0.1"},
		{"[::1]:119", false, ""},
	} {
		a, err := netResolve(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := ipKey(a, c.loop); got != c.want {
			t.Errorf("%s (loopback limited %v): %q, want %q", c.addr, c.loop, got, c.want)
		}
	}
}

func netResolve(s string) (*net.TCPAddr, error) { return net.ResolveTCPAddr("tcp", s) }
