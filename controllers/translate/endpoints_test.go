package translate

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestRefreshEndpointsEqualsFullTranslation: after an EndpointSlice-only
// change, refreshing the touched Services gives exactly what translating the
// whole snapshot again gives, and leaves the other backends shared.
func TestRefreshEndpointsEqualsFullTranslation(t *testing.T) {
	objs := func(webEndpoints ...string) *Snapshot {
		s := snap(
			ing("default", "site", 1, rule("a.example", prefix("/", "web", 80), prefix("/api", "api", "http")),
				annotate("sluice.dev/affinity", "cookie")),
			service("default", "web", "http:80/8080"),
			service("default", "api", "http:80/9090"),
			slice("default", "web", "web-1", []string{"http:8080"}, webEndpoints...),
			slice("default", "api", "api-1", []string{"http:9090"}, "10.0.1.1", "10.0.1.2"),
			service("default", "echo", "tcp:7000"),
			slice("default", "echo", "echo-1", []string{"tcp:7000"}, "10.0.2.1"),
			configMap("default", "tcp", "9000", "default/echo:7000"),
		)
		return s
	}
	opts := testOptions
	opts.TCPServicesConfigMap = types.NamespacedName{Namespace: "default", Name: "tcp"}
	before := Translate(objs("10.0.0.1", "10.0.0.2"), opts)

	cases := [][]string{
		{"10.0.0.1", "10.0.0.2", "10.0.0.3"},          // scaled up
		{"10.0.0.2"},                                  // scaled down
		{"10.0.0.1!notready", "10.0.0.2!terminating"}, // nothing ready
		{},
	}
	for _, eps := range cases {
		after := objs(eps...)
		full := Translate(after, opts)
		inc := RefreshEndpoints(before, after, map[types.NamespacedName]bool{{Namespace: "default", Name: "web"}: true})
		if got, want := dump(inc.Config), dump(full.Config); got != want {
			t.Fatalf("endpoints %v: refreshed config differs from a full translation:\n%s", eps, diff(got, want))
		}
		if eventLines(inc.Events) != eventLines(full.Events) {
			t.Fatalf("endpoints %v: events differ", eps)
		}
		for i, b := range inc.Config.Backends {
			if b.Name != "default_web_80" && b != before.Config.Backends[i] {
				t.Errorf("backend %s was rebuilt though its Service did not change", b.Name)
			}
		}
		checkValid(t, inc.Config)
	}

	// The TCP service's backend follows its slices too.
	after := objs("10.0.0.1", "10.0.0.2")
	after.EndpointSlices[types.NamespacedName{Namespace: "default", Name: "echo-1"}] = slice("default", "echo", "echo-1", []string{"tcp:7000"}, "10.0.2.9")
	inc := RefreshEndpoints(before, after, map[types.NamespacedName]bool{{Namespace: "default", Name: "echo"}: true})
	if got, want := dump(inc.Config), dump(Translate(after, opts).Config); got != want {
		t.Fatalf("TCP backend not refreshed:\n%s", diff(got, want))
	}
}
