package config

import (
	"os"
	"path/filepath"
	"testing"
)

func fixtures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return files
}

// TestFixturesParse loads every fixture; each must be valid.
func TestFixturesParse(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, _, err := ParseFile(f)
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate after Parse: %v", err)
			}
		})
	}
}

// TestPrintRoundTrip checks Parse(Print(Parse(x))) == Parse(x) apart from
// positions for every fixture, and that printing is stable.
func TestPrintRoundTrip(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c1, _, err := Parse(f, src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out := c1.String()
			c2, _, err := Parse("printed.cfg", []byte(out))
			if err != nil {
				t.Fatalf("Parse(Print): %v\n%s", err, indent(out))
			}
			if !equalIgnoringPos(c1, c2) {
				t.Fatalf("round trip changed the model\n--- printed ---\n%s\n--- reprinted ---\n%s", indent(out), indent(c2.String()))
			}
			if again := c2.String(); again != out {
				t.Fatalf("printing is not stable\n--- first ---\n%s\n--- second ---\n%s", indent(out), indent(again))
			}
		})
	}
}
