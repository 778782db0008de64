package h1

import "testing"

// TestWordScanners checks the eight-bytes-at-a-time scanners against a
// bytewise reference for every byte value at every offset in a word, with
// clean bytes of both halves of the byte range around it.
func TestWordScanners(t *testing.T) {
	naive := func(s []byte, cls uint8) int {
		for i, c := range s {
			if class[c]&cls == 0 {
				return i
			}
		}
		return -1
	}
	for _, fill := range []byte{'a', 0xff, 0x80, '~'} {
		for n := 0; n <= 24; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					s := make([]byte, n)
					for i := range s {
						s[i] = fill
					}
					s[pos] = byte(c)
					if got, want := ctlIndex(s), naive(s, clsValue); got != want {
						t.Fatalf("ctlIndex(%q) = %d, want %d", s, got, want)
					}
					want := naive(s, clsTarget)
					if want < 0 {
						want = n
					}
					if got := targetEnd(s); got != want {
						t.Fatalf("targetEnd(%q) = %d, want %d", s, got, want)
					}
				}
			}
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"007", 7, true}, {"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false}, {"", 0, false}, {"1a", 0, false}, {"-1", 0, false}, {" 1", 0, false},
	} {
		n, ok := parseDecimal([]byte(c.in))
		if n != c.n || ok != c.ok {
			t.Errorf("parseDecimal(%q) = %d, %v", c.in, n, ok)
		}
	}
}
