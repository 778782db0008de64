package translate

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// goldenOptions are the flags every golden case runs with.
var goldenOptions = Options{
	HTTPAddr:             ":80",
	HTTPSAddr:            ":443",
	DefaultCertificate:   types.NamespacedName{Namespace: "sluice", Name: "default-cert"},
	TCPServicesConfigMap: types.NamespacedName{Namespace: "sluice", Name: "tcp-services"},
}

// certificateAnnotation on a Secret of a manifest asks for a generated
// certificate and key for its comma-separated names in tls.crt and
// tls.key, so that no key is checked in.
const certificateAnnotation = "test.sluice.dev/certificate-names"

// loadManifests reads a multi-document YAML file of Kubernetes objects,
// keeping the kinds the translation reads.
func loadManifests(t *testing.T, path string) []runtime.Object {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m Manifests
	if err := m.Read(f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, obj := range m.Objects {
		if s, ok := obj.(*corev1.Secret); ok {
			if names, ok := s.Annotations[certificateAnnotation]; ok {
				p := testCert(t, false, strings.Split(names, ",")...)
				s.Data = map[string][]byte{corev1.TLSCertKey: p.crt, corev1.TLSPrivateKeyKey: p.key}
			}
		}
	}
	return m.Objects
}

// TestGolden translates each testdata/*.yaml and compares the printed
// config and events with testdata/*.golden (go test -update rewrites them).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s := snap(loadManifests(t, file)...)
			before := deepCopySnapshot(s)
			opts := goldenOptions
			opts.FallbackCertificate = fallbackCert(t)
			res := Translate(s, opts)
			checkValid(t, res.Config)
			if !reflect.DeepEqual(s, before) {
				t.Error("Translate modified its input")
			}
			print := func(res Result) string {
				return dump(res.Config) + "# events\n" + eventLines(res.Events) + "# secrets\n" + fmt.Sprintln(res.Secrets)
			}
			got := print(res)

			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n%s", golden, diff(got, string(want)))
			}

			// The same input gives the same output, whatever the order
			// in which Go walks the snapshot's maps.
			for i := 0; i < 20; i++ {
				again := Translate(s, opts)
				if d := print(again); d != got {
					t.Fatalf("run %d differs:\n%s", i, diff(d, got))
				}
				if !reflect.DeepEqual(again, res) {
					t.Fatalf("run %d: results differ structurally", i)
				}
			}
		})
	}
}

func deepCopySnapshot(s *Snapshot) *Snapshot {
	c := NewSnapshot()
	for k, v := range s.Ingresses {
		c.Ingresses[k] = v.DeepCopy()
	}
	for k, v := range s.IngressClasses {
		c.IngressClasses[k] = v.DeepCopy()
	}
	for k, v := range s.Services {
		c.Services[k] = v.DeepCopy()
	}
	for k, v := range s.EndpointSlices {
		c.EndpointSlices[k] = v.DeepCopy()
	}
	for k, v := range s.ConfigMaps {
		c.ConfigMaps[k] = v.DeepCopy()
	}
	for k, v := range s.Secrets {
		c.Secrets[k] = v.DeepCopy()
	}
	return c
}

func TestEmptyAndPartialSnapshots(t *testing.T) {
	for name, s := range map[string]*Snapshot{
		"nil":        nil,
		"empty":      {},
		"nil values": {Ingresses: map[types.NamespacedName]*networkingv1.Ingress{{Name: "x"}: nil}, EndpointSlices: map[types.NamespacedName]*discoveryv1.EndpointSlice{{Name: "x"}: nil}},
	} {
		res := Translate(s, testOptions)
		checkValid(t, res.Config)
		if got := dump(res.Config); got != httpOnly+http404 {
			t.Errorf("%s: got\n%s", name, got)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o  Options
		ok bool
	}{
		{Options{HTTPAddr: ":8080"}, true},
		{Options{HTTPAddr: "*:80", TCPBindAddress: "::"}, true},
		{Options{HTTPAddr: "[::1]:80", TCPBindAddress: "127.0.0.1"}, true},
		{Options{HTTPAddr: ""}, false},
		{Options{HTTPAddr: "8080"}, false},
		{Options{HTTPAddr: ":0"}, false},
		{Options{HTTPAddr: ":http"}, false},
		{Options{HTTPAddr: "localhost:80"}, false},
		{Options{HTTPAddr: ":80", TCPBindAddress: "all"}, false},
	} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v", tc.o, err)
		}
	}
	// An HTTP address with a host: the bind carries it.
	res := Translate(nil, Options{HTTPAddr: "[::1]:8081"})
	if b := res.Config.Frontends[0].Binds; len(b) != 1 || b[0].Addr() != "[::1]:8081" {
		t.Errorf("binds = %+v", b)
	}
}
