package news

import (
	"strings"
	"testing"
)

func TestCheckMessageID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"<a@b>", true},
		{"<abc.def@example.com>", true},
		{"<\"quoted@local\"@example.com>", true},
		{"<a@b.c>", true},
		{"<[1.2.3.4]@x>", true},
		{"<" + strings.Repeat("a", 246) + "@b>", true}, // 250 octets
		{"<" + strings.Repeat("a", 247) + "@b>", false},
		{"a@b", false},
		{"<a@b", false},
		{"<ab>", false},
		{"<@b>", false},
		{"<a@>", false},
		{"<a b@c>", false},
		{"<a\t@c>", false},
		{"<a<@c>", false},
		{"<a>@c>", false},
		{"<a@c>x", false},
		{"<caf\xc3\xa9@c>", false},
		{"<a\x00@c>", false},
		{"", false},
		{"<>", false},
	}
	for _, tt := range tests {
		if got := ValidMessageID(tt.id); got != tt.ok {
			t.Errorf("ValidMessageID(%q) = %v, want %v", tt.id, got, tt.ok)
		}
	}
}

func TestParseNewsgroups(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil = error
	}{
		{"alt.crypt.messages", []string{"alt.crypt.messages"}},
		{" alt.crypt.messages , alt.test", []string{"alt.crypt.messages", "alt.test"}},
		{"a.b,a.b,c", []string{"a.b", "c"}},
		{"alt.c++,alt.x_y-z", []string{"alt.c++", "alt.x_y-z"}},
		{"", nil},
		{"a,,b", nil},
		{"a,", nil},
		{"a..b", nil},
		{".a", nil},
		{"a b", nil},
		{"a*b", nil},
		{"a!b", nil},
		{strings.Repeat("a", 256), nil},
		{strings.Repeat("g,", 100) + "g", []string{"g"}},
	}
	for _, tt := range tests {
		got, err := ParseNewsgroups(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("ParseNewsgroups(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ParseNewsgroups(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	var many []string
	for i := 0; i <= MaxNewsgroups; i++ {
		many = append(many, "g"+strings.Repeat("x", i))
	}
	if _, err := ParseNewsgroups(strings.Join(many, ",")); err == nil {
		t.Error("accepted more than MaxNewsgroups groups")
	}
}

func TestCheckGroupName(t *testing.T) {
	for name, ok := range map[string]bool{
		"alt.crypt.messages": true, "alt.c++": true, "a": true, "x_y-z": true,
		"": false, "a b": false, "a,b": false, "a:b": false, "a\x00": false, "\xff": false,
		"de.alt.lösung": false, "a..b": false, ".a": false, strings.Repeat("a", 256): false,
	} {
		if err := CheckGroupName(name); (err == nil) != ok {
			t.Errorf("CheckGroupName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func FuzzCheckMessageID(f *testing.F) {
	f.Add("<a@b>")
	f.Add("<a b>")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, id string) {
		if CheckMessageID(id) != nil {
			return
		}
		if len(id) > MaxMessageIDLength || id[0] != '<' || id[len(id)-1] != '>' ||
			strings.ContainsAny(id[1:len(id)-1], " \t\r\n<>") || !strings.Contains(id, "@") {
			t.Fatalf("accepted %q", id)
		}
		for i := 0; i < len(id); i++ {
			if id[i] < 0x21 || id[i] > 0x7e {
				t.Fatalf("accepted %q", id)
			}
		}
	})
}

func FuzzParseNewsgroups(f *testing.F) {
	f.Add("alt.crypt.messages, alt.test")
	f.Add("a,,b")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, v string) {
		groups, err := ParseNewsgroups(v)
		if err != nil {
			return
		}
		if len(groups) == 0 || len(groups) > MaxNewsgroups {
			t.Fatalf("%q gave %d groups", v, len(groups))
		}
		for _, g := range groups {
			if CheckGroupName(g) != nil || strings.ContainsAny(g, ", \t\r\n") {
				t.Fatalf("%q gave group %q", v, g)
			}
		}
	})
}
