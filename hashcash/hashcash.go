// Package hashcash verifies and mints hashcash version 1 stamps
// (http://hashcash.org/docs/hashcash.html#stamp_format__version_1_):
//
//	1:bits:date:resource:ext:rand:counter
//
// A stamp is worth something when the SHA-1 of the whole string starts
// with at least bits zero bits. Injection asks for one in X-Hashcash to make
// floods cost CPU time; remembering spent stamps is the caller's job (the
// store), since only the caller knows where stamps are kept.
package hashcash

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Reason codes, stable: they start the 441 text of a refused post.
const (
	ReasonMissing       = "hashcash-missing"
	ReasonMalformed     = "hashcash-malformed"
	ReasonTooWeak       = "hashcash-too-weak"
	ReasonWrongResource = "hashcash-wrong-resource"
	ReasonExpired       = "hashcash-expired"
	// ReasonSpent is never returned by Verify: spent stamps are remembered
	// by the caller, who uses this code when it finds one.
	ReasonSpent = "hashcash-spent"
)

// Defaults of Requirement.
const (
	DefaultMaxAge    = 48 * time.Hour
	DefaultMaxFuture = time.Hour
	// MaxBits is the most a Requirement or a stamp may ask for (SHA-1 has
	// 160 bits; anything above this is no stamp anyone minted).
	MaxBits = 64
	// MaxLength caps a stamp: real ones are well under 100 bytes.
	MaxLength = 512
)

// Error is why a stamp was not accepted. Reason is one of the Reason
// constants; Msg a sentence for the poster.
type Error struct {
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Msg }

func fail(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// Requirement is what a stamp must show.
type Requirement struct {
	// Bits is the least number of leading zero bits (1 to MaxBits).
	Bits int
	// Resource is what the stamp must be minted for, compared without
	// regard to case.
	Resource string
	// MatchResource, when set, decides instead of Resource which resources
	// are accepted (for a server known by several names). It gets the
	// stamp's resource as written.
	MatchResource func(resource string) bool
	// MaxAge is how old a stamp may be (DefaultMaxAge when 0), MaxFuture
	// how far ahead of our clock its date may lie (DefaultMaxFuture when 0).
	MaxAge, MaxFuture time.Duration
}

func (r Requirement) maxAge() time.Duration {
	if r.MaxAge <= 0 {
		return DefaultMaxAge
	}
	return r.MaxAge
}

func (r Requirement) maxFuture() time.Duration {
	if r.MaxFuture <= 0 {
		return DefaultMaxFuture
	}
	return r.MaxFuture
}

// Window is how long a stamp can be accepted from the start of its date
// period: a store must remember spent stamps at least this long.
func (r Requirement) Window() time.Duration {
	// A date with day precision covers a whole day (see Verify).
	return r.maxAge() + r.maxFuture() + 24*time.Hour
}

// Stamp is a parsed version 1 stamp.
type Stamp struct {
	Bits     int
	Date     time.Time // start of the period the date names, UTC
	Period   time.Duration
	Resource string
	Ext      string
	Rand     string
	Counter  string
}

// Parse reads a version 1 stamp. It checks the syntax only, not the work.
func Parse(s string) (*Stamp, error) {
	if s == "" {
		return nil, fail(ReasonMissing, "no stamp")
	}
	if len(s) > MaxLength {
		return nil, fail(ReasonMalformed, "the stamp is longer than %d bytes", MaxLength)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return nil, fail(ReasonMalformed, "the stamp has a character that is not printable ASCII")
		}
	}
	f := strings.Split(s, ":")
	if len(f) != 7 {
		return nil, fail(ReasonMalformed, "a version 1 stamp has 7 fields separated by ':', this one has %d", len(f))
	}
	if f[0] != "1" {
		return nil, fail(ReasonMalformed, "only version 1 stamps are accepted")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 0 || n > MaxBits || f[1] != strconv.Itoa(n) {
		return nil, fail(ReasonMalformed, "the bits field must be a number from 0 to %d", MaxBits)
	}
	date, period, ok := parseDate(f[2])
	if !ok {
		return nil, fail(ReasonMalformed, "the date must be YYMMDD, YYMMDDhhmm or YYMMDDhhmmss")
	}
	if f[3] == "" {
		return nil, fail(ReasonMalformed, "the resource is empty")
	}
	if !base64ish(f[5]) || f[5] == "" || !base64ish(f[6]) || f[6] == "" {
		return nil, fail(ReasonMalformed, "rand and counter must be non-empty base-64 text")
	}
	return &Stamp{Bits: n, Date: date, Period: period, Resource: f[3], Ext: f[4], Rand: f[5], Counter: f[6]}, nil
}

var dateLayouts = map[int]struct {
	layout string
	period time.Duration
}{
	6:  {"060102", 24 * time.Hour},
	10: {"0601021504", time.Minute},
	12: {"060102150405", time.Second},
}

func parseDate(s string) (time.Time, time.Duration, bool) {
	l, ok := dateLayouts[len(s)]
	if !ok {
		return time.Time{}, 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, 0, false
		}
	}
	t, err := time.ParseInLocation(l.layout, s, time.UTC)
	if err != nil {
		return time.Time{}, 0, false
	}
	return t, l.period, true
}

func base64ish(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// LeadingZeroBits counts the leading zero bits of the SHA-1 of s.
func LeadingZeroBits(s string) int {
	sum := sha1.Sum([]byte(s))
	return zeroBits(sum[:])
}

func zeroBits(sum []byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// Verify checks a stamp against req at time now: syntax, resource, date,
// then the work (the cheap checks first). Surrounding white space is
// ignored. The error is an *Error; a stamp that passes may still have been
// spent, which the caller checks.
func Verify(stamp string, req Requirement, now time.Time) error {
	stamp = strings.TrimSpace(stamp)
	st, err := Parse(stamp)
	if err != nil {
		return err
	}
	if st.Bits < req.Bits {
		return fail(ReasonTooWeak, "the stamp claims %d bits; this server asks for %d", st.Bits, req.Bits)
	}
	if req.MatchResource != nil {
		if !req.MatchResource(st.Resource) {
			return fail(ReasonWrongResource, "the stamp is for %q, not for this server", clip(st.Resource))
		}
	} else if !strings.EqualFold(st.Resource, req.Resource) {
		return fail(ReasonWrongResource, "the stamp is for %q; mint it for %q", clip(st.Resource), req.Resource)
	}
	// A date with day precision covers the whole day: it is too old only
	// once its last second is, and too new only if its first one is.
	if st.Date.Add(st.Period).Before(now.Add(-req.maxAge())) {
		return fail(ReasonExpired, "the stamp's date %s is more than %s in the past", st.Date.Format("2006-01-02 15:04:05Z"), req.maxAge())
	}
	if st.Date.After(now.Add(req.maxFuture())) {
		return fail(ReasonExpired, "the stamp's date %s is more than %s in the future", st.Date.Format("2006-01-02 15:04:05Z"), req.maxFuture())
	}
	if got := LeadingZeroBits(stamp); got < st.Bits {
		return fail(ReasonTooWeak, "the stamp claims %d bits but its SHA-1 has only %d leading zero bits", st.Bits, got)
	}
	return nil
}

// clip keeps a stamp's field short in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Mint makes a stamp for resource with the given bits, dated now
// (YYMMDDhhmmss, UTC). It costs about 2^bits SHA-1 computations.
func Mint(resource string, nbits int, now time.Time) (string, error) {
	if nbits < 0 || nbits > MaxBits {
		return "", errors.New("hashcash: bits must be from 0 to " + strconv.Itoa(MaxBits))
	}
	if resource == "" || strings.ContainsAny(resource, ":") {
		return "", errors.New("hashcash: the resource must be non-empty and have no ':'")
	}
	for i := 0; i < len(resource); i++ {
		if resource[i] <= ' ' || resource[i] > '~' {
			return "", errors.New("hashcash: the resource must be printable ASCII without spaces")
		}
	}
	var r [12]byte
	rand.Read(r[:])
	prefix := fmt.Sprintf("1:%d:%s:%s::%s:", nbits, now.UTC().Format("060102150405"), resource, base64.StdEncoding.EncodeToString(r[:]))
	if len(prefix)+16 > MaxLength {
		return "", errors.New("hashcash: the resource is too long")
	}
	buf := []byte(prefix)
	for ctr := uint64(0); ; ctr++ {
		buf = appendCounter(buf[:len(prefix)], ctr)
		sum := sha1.Sum(buf)
		if zeroBits(sum[:]) >= nbits {
			return string(buf), nil
		}
	}
}

const counterDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendCounter writes ctr in base-64 digits, least significant first
// (any base-64 text is a valid counter).
func appendCounter(b []byte, ctr uint64) []byte {
	for {
		b = append(b, counterDigits[ctr&63])
		ctr >>= 6
		if ctr == 0 {
			return b
		}
	}
}
