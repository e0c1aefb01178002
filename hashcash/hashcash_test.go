package hashcash

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Stamps from hashcash.org's documentation and Wikipedia, minted by Adam
// Back's hashcash tool. Their SHA-1 digests, checked with Python's hashlib:
//
//	1:20:060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:ePa        -> 00000a4a8bd07bddbdb0c4ea9ddb2d29b8d1cc5e
//	1:20:1303030600:adam@cypherspace.org::McMybZIhxKXu57jd:ckvi   -> 00000b7c65ac70650eb8d4f034e86d7d5cd1852f
//
// Both have exactly 20 leading zero bits (0x0a and 0x0b start with one 1
// bit in their fourth place).
const (
	stampDay    = "1:20:060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:ePa"
	stampMinute = "1:20:1303030600:adam@cypherspace.org::McMybZIhxKXu57jd:ckvi"
)

func reason(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "not-an-*Error: " + err.Error()
	}
	return e.Reason
}

func TestKnownStampsBits(t *testing.T) {
	for _, s := range []string{stampDay, stampMinute} {
		if n := LeadingZeroBits(s); n != 20 {
			t.Errorf("%s: %d leading zero bits, want 20", s, n)
		}
	}
}

func TestVerify(t *testing.T) {
	adam := Requirement{Bits: 20, Resource: "adam@cypherspace.org"}
	day := time.Date(2006, 4, 8, 12, 0, 0, 0, time.UTC)
	minute := time.Date(2013, 3, 3, 6, 30, 0, 0, time.UTC)
	tests := []struct {
		name  string
		stamp string
		req   Requirement
		now   time.Time
		want  string
	}{
		{"day stamp", stampDay, adam, day, ""},
		{"minute stamp", stampMinute, adam, minute, ""},
		{"white space around", "  " + stampMinute + "\t", adam, minute, ""},
		{"fewer bits asked", stampDay, Requirement{Bits: 16, Resource: "adam@cypherspace.org"}, day, ""},
		{"resource case", stampDay, Requirement{Bits: 20, Resource: "ADAM@CypherSpace.org"}, day, ""},
		{"day covers the whole day", stampDay, adam, time.Date(2006, 4, 10, 23, 59, 0, 0, time.UTC), ""},
		{"day too old", stampDay, adam, time.Date(2006, 4, 11, 0, 0, 1, 0, time.UTC), ReasonExpired},
		{"minute too old", stampMinute, adam, minute.Add(48*time.Hour + time.Minute), ReasonExpired},
		{"minute in the future within an hour", stampMinute, adam, time.Date(2013, 3, 3, 5, 0, 0, 0, time.UTC), ""},
		{"minute too far in the future", stampMinute, adam, time.Date(2013, 3, 3, 4, 59, 0, 0, time.UTC), ReasonExpired},
		{"longer max age", stampMinute, Requirement{Bits: 20, Resource: "adam@cypherspace.org", MaxAge: 30 * 24 * time.Hour}, minute.Add(20 * 24 * time.Hour), ""},
		{"more bits asked", stampDay, Requirement{Bits: 21, Resource: "adam@cypherspace.org"}, day, ReasonTooWeak},
		{"claims more than it has", strings.Replace(stampDay, "1:20:", "1:21:", 1), Requirement{Bits: 20, Resource: "adam@cypherspace.org"}, day, ReasonTooWeak},
		{"counter changed", stampDay[:len(stampDay)-1] + "b", adam, day, ReasonTooWeak},
		{"wrong resource", stampDay, Requirement{Bits: 20, Resource: "news.example"}, day, ReasonWrongResource},
		{"resource prefix is not enough", stampDay, Requirement{Bits: 20, Resource: "adam@cypherspace.or"}, day, ReasonWrongResource},
		{"match function", stampDay, Requirement{Bits: 20, MatchResource: func(r string) bool { return strings.HasSuffix(r, "@cypherspace.org") }}, day, ""},
		{"match function refuses", stampDay, Requirement{Bits: 20, Resource: "adam@cypherspace.org", MatchResource: func(string) bool { return false }}, day, ReasonWrongResource},
		{"empty", "", adam, day, ReasonMissing},
		{"blank", "  ", adam, day, ReasonMissing},
		{"version 0", "0:060408:adam@cypherspace.org:1QTjaYd7niiQA", adam, day, ReasonMalformed},
		{"six fields", "1:20:060408:adam@cypherspace.org:1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"bad date", "1:20:061308:adam@cypherspace.org::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"date of 8 digits", "1:20:20060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"bits not a number", "1:xx:060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"bits with a sign", "1:+20:060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"bits too many", "1:200:060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"empty resource", "1:20:060408:::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"empty counter", "1:20:060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:", adam, day, ReasonMalformed},
		{"counter not base64", "1:20:060408:adam@cypherspace.org::1QTjaYd7niiQA/sc:e-a", adam, day, ReasonMalformed},
		{"space inside", "1:20:060408:adam @cypherspace.org::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"not ASCII", "1:20:060408:adäm@cypherspace.org::1QTjaYd7niiQA/sc:ePa", adam, day, ReasonMalformed},
		{"too long", "1:20:060408:" + strings.Repeat("a", MaxLength) + "::x:y", adam, day, ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.stamp, tt.req, tt.now)
			if got := reason(err); got != tt.want {
				t.Fatalf("Verify = %v; want reason %q", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), tt.want+": ") {
				t.Errorf("error text %q does not start with its reason", err)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	s, err := Parse(stampMinute)
	if err != nil {
		t.Fatal(err)
	}
	want := Stamp{Bits: 20, Date: time.Date(2013, 3, 3, 6, 0, 0, 0, time.UTC), Period: time.Minute,
		Resource: "adam@cypherspace.org", Rand: "McMybZIhxKXu57jd", Counter: "ckvi"}
	if *s != want {
		t.Errorf("Parse = %+v, want %+v", *s, want)
	}
	s, err = Parse("1:8:260102030405:r:a=b,c;d:x:y")
	if err != nil || s.Ext != "a=b,c;d" || s.Period != time.Second || !s.Date.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("Parse with ext = %+v, %v", s, err)
	}
}

func TestMintVerifies(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, bits := range []int{0, 1, 8, 16} {
		s, err := Mint("news.example", bits, now)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, "1:"+itoa(bits)+":261125110000:news.example::") {
			t.Errorf("stamp %q: want the date in UTC and the resource", s)
		}
		if err := Verify(s, Requirement{Bits: bits, Resource: "News.Example"}, now); err != nil {
			t.Errorf("minted %d bits: %v", bits, err)
		}
		if LeadingZeroBits(s) < bits {
			t.Errorf("%s has fewer than %d bits", s, bits)
		}
	}
	a, _ := Mint("news.example", 4, now)
	b, _ := Mint("news.example", 4, now)
	if a == b {
		t.Error("two mints gave the same stamp")
	}
	for _, bad := range []struct {
		res  string
		bits int
	}{{"", 8}, {"a:b", 8}, {"a b", 8}, {"x", -1}, {"x", MaxBits + 1}, {strings.Repeat("x", MaxLength), 1}} {
		if _, err := Mint(bad.res, bad.bits, now); err == nil {
			t.Errorf("Mint(%q, %d) accepted", bad.res, bad.bits)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestWindowCoversValidity(t *testing.T) {
	r := Requirement{Bits: 1, Resource: "x"}
	if w := r.Window(); w != DefaultMaxAge+DefaultMaxFuture+24*time.Hour {
		t.Errorf("Window = %s", w)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{stampDay, stampMinute, "", "1:::::::", "1:20:060408:x::a:b", "1:20:0604081234:x:e:a:b", "1:99999999999999999999:060408:x::a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Reason != ReasonMalformed && e.Reason != ReasonMissing) {
				t.Fatalf("Parse(%q) error %v has no parse reason", s, err)
			}
			return
		}
		if st.Bits < 0 || st.Bits > MaxBits || st.Resource == "" || strings.Contains(st.Resource, ":") || st.Period <= 0 {
			t.Fatalf("Parse(%q) = %+v", s, st)
		}
		// Verify never panics on what Parse accepts.
		_ = Verify(s, Requirement{Bits: 1, Resource: st.Resource}, st.Date)
	})
}

func BenchmarkVerify(b *testing.B) {
	req := Requirement{Bits: 20, Resource: "adam@cypherspace.org"}
	now := time.Date(2013, 3, 3, 6, 30, 0, 0, time.UTC)
	for b.Loop() {
		if err := Verify(stampMinute, req, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMint16 shows what a poster pays per stamp (about 2^16 hashes).
func BenchmarkMint16(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		if _, err := Mint("news.example", 16, now); err != nil {
			b.Fatal(err)
		}
	}
}
