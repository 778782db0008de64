package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// strictDecoder decodes built-in kinds and refuses unknown or duplicate
// fields, so that a misspelt field in a template fails here rather than
// being dropped by the API server.
var strictDecoder = serializer.NewCodecFactory(clientgoscheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// release is a rendered chart: every object, typed where the kind is
// built in.
type release struct {
	name, namespace string
	// docs are the objects as rendered, for applying.
	docs []*unstructured.Unstructured
	// objs holds the same objects decoded into their Go types, by key.
	objs map[objKey]runtime.Object
}

type objKey struct{ kind, namespace, name string }

func (k objKey) String() string {
	if k.namespace == "" {
		return k.kind + "/" + k.name
	}
	return k.kind + "/" + k.namespace + "/" + k.name
}

// renderOpts are a `helm template` invocation's inputs.
type renderOpts struct {
	release, namespace string
	values             string   // a values file's YAML
	apiVersions        []string // --api-versions
}

// helm runs a Helm binary and returns its stdout; the error carries stderr.
func (h helmBinary) run(args ...string) (string, error) {
	cmd := exec.Command(h.path, args...)
	// A private home: no repositories, plugins or caches of the machine
	// leak into the run.
	home := filepath.Join(workDir, "helm-home-"+h.major())
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s %s: %w\n%s", h.version, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// valuesFile writes YAML values to a file for -f.
func valuesFile(t testing.TB, values string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(values); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func (o renderOpts) args(t testing.TB, verb ...string) []string {
	args := append(verb, o.release, chartDir, "--namespace", o.namespace)
	if o.values != "" {
		args = append(args, "-f", valuesFile(t, o.values))
	}
	for _, v := range o.apiVersions {
		args = append(args, "--api-versions", v)
	}
	return args
}

// template runs `helm template` and returns its output or error.
func (h helmBinary) template(t testing.TB, o renderOpts) (string, error) {
	t.Helper()
	return h.run(o.args(t, "template")...)
}

// render runs `helm template` and decodes the result; it fails t on any
// error.
func (h helmBinary) render(t testing.TB, o renderOpts) *release {
	t.Helper()
	out, err := h.template(t, o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decode(o.release, o.namespace, out)
	if err != nil {
		t.Fatalf("helm %s: %v", h.version, err)
	}
	return r
}

// decode splits a multi-document manifest and decodes every object, typed
// when the kind is built in (strictly), unstructured otherwise.
func decode(name, namespace, manifest string) (*release, error) {
	r := &release{name: name, namespace: namespace, objs: map[objKey]runtime.Object{}}
	rd := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		key := objKey{u.GetKind(), u.GetNamespace(), u.GetName()}
		if _, dup := r.objs[key]; dup {
			return nil, fmt.Errorf("%s rendered twice", key)
		}
		var obj runtime.Object = u
		if clientgoscheme.Scheme.Recognizes(u.GroupVersionKind()) {
			typed, _, err := strictDecoder.Decode(doc, nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			obj = typed
		}
		r.docs = append(r.docs, u)
		r.objs[key] = obj
	}
	return r, nil
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// keys lists what was rendered, sorted, for messages and set comparisons.
func (r *release) keys() []string {
	var ks []string
	for k := range r.objs {
		ks = append(ks, k.String())
	}
	slices.Sort(ks)
	return ks
}

// get returns the object of that kind and name, in the release namespace
// for namespaced kinds, failing t if it was not rendered.
func get[T runtime.Object](t testing.TB, r *release, kind, name string) T {
	t.Helper()
	return getIn[T](t, r, kind, r.namespace, name)
}

// getIn is get for an object in another namespace ("" for cluster-scoped).
func getIn[T runtime.Object](t testing.TB, r *release, kind, namespace, name string) T {
	t.Helper()
	obj, ok := r.objs[objKey{kind, namespace, name}]
	if !ok {
		obj, ok = r.objs[objKey{kind, "", name}]
	}
	if !ok {
		t.Fatalf("%s %s/%s not rendered; got %v", kind, namespace, name, r.keys())
	}
	typed, ok := obj.(T)
	if !ok {
		t.Fatalf("%s %s is %T", kind, name, obj)
	}
	return typed
}

// has reports whether an object of that kind and name was rendered.
func (r *release) has(kind, name string) bool {
	for k := range r.objs {
		if k.kind == kind && k.name == name {
			return true
		}
	}
	return false
}

// countKind counts the rendered objects of a kind.
func (r *release) countKind(kind string) int {
	n := 0
	for k := range r.objs {
		if k.kind == kind {
			n++
		}
	}
	return n
}
