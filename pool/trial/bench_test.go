package trial_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/altcrypt/altcrypt/pool/internal/keytest"
	"github.com/altcrypt/altcrypt/pool/seal"
)

// benchProbe measures Probe over messages for someone else (the common case:
// almost nothing in the pool is ours) with n local Curve25519 keys, on one
// core. The figure is articles per second per core.
func benchProbe(b *testing.B, nkeys int, v6 bool) {
	var el openpgp.EntityList
	for i := 0; i < nkeys; i++ {
		el = append(el, keytest.New(b, v6))
	}
	k := mustKeys(b, el, nil)
	stranger := keytest.New(b, v6)
	msgs := make([][]byte, 256)
	for i := range msgs {
		msgs[i], _ = seal.Seal(stranger, []byte("not for you"), nil)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, ok := k.Probe(msgs[i%len(msgs)]); ok {
			b.Fatal("false hit")
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
	// CPU time is the honest figure on a shared machine: wall time
	// includes waiting for a core.
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "articles/cpu-s")
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkProbe1Key(b *testing.B)   { benchProbe(b, 1, false) }
func BenchmarkProbe10Keys(b *testing.B) { benchProbe(b, 10, false) }
func BenchmarkProbe1KeyV6(b *testing.B) { benchProbe(b, 1, true) }
func BenchmarkProbeHitOpen(b *testing.B) {
	e := keytest.New(b, false)
	k := mustKeys(b, openpgp.EntityList{e}, nil)
	msg, _ := seal.Seal(e, make([]byte, 3000), nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hit, ok := k.Probe(msg)
		if !ok {
			b.Fatal("miss")
		}
		if _, err := k.Open(msg, hit); err != nil {
			b.Fatal(err)
		}
	}
}
