package h1

import (
	"net/netip"
	"testing"
)

func TestValidHost(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"example.com", true},
		{"example.com:8080", true},
		{"example.com:", true},
		{"10.1.2.3", true},
		{"a_b-c~d.e!$&'()*+,;=", true},
		{"[::1]", true},
		{"[::1]:443", true},
		{"[2001:db8::ffff:1.2.3.4]", true},
		{"[1:2:3:4:5:6:7:8]", true},
		{"", false},
		{":80", false},
		{"a:b", false},
		{"a:1:2", false},
		{"a b", false},
		{"a/b", false},
		{"a@b", false},
		{"a%41", false},
		{"[::1", false},
		{"[::1]x", false},
		{"[1.2.3.4]", false},
		{"[1:2:3:4:5:6:7:8:9]", false},
		{"[1:2:3:4:5:6:7]", false},
		{"[1::2::3]", false},
		{"[12345::]", false},
		{"[::1%25eth0]", false},
		{"[::01.2.3.4]", false},
		{"[::1.2.3]", false},
		{"[::256.1.1.1]", false},
		{"[1:]", false},
		{"[:1::]", false},
	} {
		if got := validHost([]byte(c.in)); got != c.want {
			t.Errorf("validHost(%q) = %v", c.in, got)
		}
	}
}

// FuzzValidIPv6 checks that every literal validIPv6 accepts is an IPv6
// address to net/netip too, so that a backend reading Host with a standard
// parser sees the same host.
func FuzzValidIPv6(f *testing.F) {
	for _, s := range []string{"::1", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1::", "fe80::1:2", "1:2:3:4:5:6:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validIPv6([]byte(s)) {
			return
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Is4() || a.Zone() != "" {
			t.Fatalf("validIPv6(%q) but netip: %v, %v", s, a, err)
		}
	})
}
