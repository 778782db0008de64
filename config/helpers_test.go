package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// parseOK parses src and fails the test on any error.
func parseOK(t testing.TB, src string) (*Config, []Warning) {
	t.Helper()
	c, w, err := Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n--- source ---\n%s", err, src)
	}
	return c, w
}

// parseErrs parses src, expects it to fail and returns the errors.
func parseErrs(t testing.TB, src string) ErrorList {
	t.Helper()
	c, _, err := Parse("t.cfg", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want an error\n--- source ---\n%s\n--- parsed ---\n%s", src, c)
	}
	el, ok := err.(ErrorList)
	if !ok {
		t.Fatalf("Parse error is %T, want ErrorList", err)
	}
	if c != nil {
		t.Errorf("Parse returned a Config with an error")
	}
	return el
}

// withoutPos returns a deep copy of v with every Pos field zeroed, so that
// models can be compared regardless of where they were written.
func withoutPos[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	out := reflect.New(rv.Type()).Elem()
	copyZeroPos(out, rv)
	return out.Interface().(T)
}

var posType = reflect.TypeOf(Pos{})

func copyZeroPos(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		copyZeroPos(e, src.Elem())
		dst.Set(e)
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Elem().Type())
		copyZeroPos(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			copyZeroPos(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Struct:
		if src.Type() == posType {
			return
		}
		for i := 0; i < src.NumField(); i++ {
			copyZeroPos(dst.Field(i), src.Field(i))
		}
	default:
		dst.Set(src)
	}
}

// equalIgnoringPos reports whether two models are equal apart from positions.
func equalIgnoringPos[T any](a, b T) bool {
	return reflect.DeepEqual(withoutPos(a), withoutPos(b))
}

// lines prefixes every line of s for readable failure output.
func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func mustRead(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
