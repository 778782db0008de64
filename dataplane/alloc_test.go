//go:build !race

package dataplane

import "testing"

// TestProxyKeepAliveAllocs holds the hot path to its promise: once the
// connections are warm, proxying a request allocates nothing.
func TestProxyKeepAliveAllocs(t *testing.T) {
	_, addr := startProxy(t, rawBackend(t, smallBody), rawBackend(t, smallBody))
	c := newClient(t, addr, "END\n")
	for i := 0; i < 200; i++ {
		if err := c.do(); err != nil {
			t.Fatal(err)
		}
	}
	var failed error
	allocs := testing.AllocsPerRun(2000, func() {
		if err := c.do(); err != nil && failed == nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	t.Logf("allocations per proxied keep-alive request: %.2f", allocs)
	if allocs > 0 {
		t.Fatalf("proxied keep-alive request allocates %.2f times, want 0", allocs)
	}
}
