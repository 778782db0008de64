package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/controllers"
	"sluice.dev/sluice/controllers/translate"
)

// fileList is a repeatable -f flag.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// translateCmd shows, without a cluster, what the controller would make of
// manifest files: the table it would serve, printed as a config file, with
// a report of the objects and the Events it would record. The translation
// is the controller's own, with the same flags.
func translateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files fileList
	fs.Var(&files, "f", "manifest file (YAML or JSON, many documents), directory of them, or - for stdin; repeatable")
	class := fs.String("ingress-class", translate.DefaultIngressClass, "name of the IngressClass the controller serves")
	controllerName := fs.String("controller-name", translate.DefaultControllerName, "spec.controller of that IngressClass")
	anyClass := fs.Bool("any-class", false, "translate every Ingress as if it were of our class (to see what sluice makes of another controller's Ingresses)")
	httpAddr := fs.String("http-addr", ":8080", "address of the HTTP listener")
	httpsAddr := fs.String("https-addr", ":8443", "address of the HTTPS listener; empty: none")
	tcpCM := fs.String("tcp-services-configmap", "", "NS/NAME of the TCP services ConfigMap")
	tcpBind := fs.String("tcp-bind-address", translate.DefaultTCPBindAddress, "address the TCP services listen on")
	defaultCert := fs.String("default-ssl-certificate", "", "NS/NAME of the default TLS Secret")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(files) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "sluice translate: -f FILE is required (and takes no other arguments)")
		return 2
	}
	opts := translate.Options{
		IngressClass:   *class,
		ControllerName: *controllerName,
		HTTPAddr:       *httpAddr,
		HTTPSAddr:      *httpsAddr,
		TCPBindAddress: *tcpBind,
	}
	for _, f := range []struct {
		name, val string
		dst       *types.NamespacedName
	}{{"tcp-services-configmap", *tcpCM, &opts.TCPServicesConfigMap}, {"default-ssl-certificate", *defaultCert, &opts.DefaultCertificate}} {
		if f.val == "" {
			continue
		}
		nn, err := parseNamespacedName(f.val)
		if err != nil {
			fmt.Fprintf(stderr, "sluice translate: --%s: %v\n", f.name, err)
			return 2
		}
		*f.dst = nn
	}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "sluice translate: %v\n", err)
		return 2
	}
	if opts.HTTPSAddr != "" {
		// As the controller does at start: HTTPS has a certificate for
		// every host even when the files carry none.
		cert, err := controllers.SelfSigned(time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "sluice translate: %v\n", err)
			return 1
		}
		opts.FallbackCertificate = cert
	}

	var m translate.Manifests
	for _, f := range files {
		if err := readManifests(&m, f); err != nil {
			fmt.Fprintf(stderr, "sluice translate: %v\n", err)
			return 1
		}
	}
	s := m.Snapshot()
	report := newTranslateReport(s, opts, *anyClass)
	res := translate.Translate(s, opts)
	report.write(stdout, &m, res)
	if err := config.Print(stdout, res.Config); err != nil {
		fmt.Fprintf(stderr, "sluice translate: %v\n", err)
		return 1
	}
	return 0
}

// readManifests reads a file, every *.yaml, *.yml and *.json of a
// directory (not its subdirectories), or stdin for "-".
func readManifests(m *translate.Manifests, path string) error {
	if path == "-" {
		if err := m.Read(os.Stdin); err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	paths := []string{path}
	if st.IsDir() {
		paths = nil
		for _, pat := range []string{"*.yaml", "*.yml", "*.json"} {
			found, _ := filepath.Glob(filepath.Join(path, pat))
			paths = append(paths, found...)
		}
		slices.Sort(paths)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = m.Read(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// translateReport says, as comments above the printed table, what became of
// each object read: which Ingresses are served, which annotations were
// honored, what the controller would record as Events.
type translateReport struct {
	snap *translate.Snapshot
	opts translate.Options
}

// newTranslateReport prepares s as the controller would see it. A cluster
// running sluice has its IngressClass, files rarely do: it is added when
// missing. With anyClass every Ingress is made ours (on s, which it
// changes).
func newTranslateReport(s *translate.Snapshot, opts translate.Options, anyClass bool) *translateReport {
	if s.IngressClasses[opts.IngressClass] == nil || anyClass {
		s.IngressClasses[opts.IngressClass] = &networkingv1.IngressClass{
			ObjectMeta: metav1.ObjectMeta{Name: opts.IngressClass},
			Spec:       networkingv1.IngressClassSpec{Controller: opts.ControllerName},
		}
	}
	if anyClass {
		for key, ing := range s.Ingresses {
			ing = ing.DeepCopy()
			delete(ing.Annotations, "kubernetes.io/ingress.class")
			ing.Spec.IngressClassName = &opts.IngressClass
			s.Ingresses[key] = ing
		}
	}
	return &translateReport{snap: s, opts: opts}
}

// notOurs says why the translation left an Ingress out.
func (r *translateReport) notOurs(ing *networkingv1.Ingress) string {
	class := r.snap.IngressClasses[r.opts.IngressClass]
	name, named := translate.ClassName(ing)
	switch {
	case class.Spec.Controller != r.opts.ControllerName:
		return fmt.Sprintf("IngressClass %s names controller %q, not --controller-name %q", class.Name, class.Spec.Controller, r.opts.ControllerName)
	case named && name != r.opts.IngressClass:
		return fmt.Sprintf("class %q is not --ingress-class %q (--any-class translates it anyway)", name, r.opts.IngressClass)
	case !named:
		return fmt.Sprintf("no class, and IngressClass %s is not the default class (--any-class translates it anyway)", r.opts.IngressClass)
	}
	return "left out by the translation"
}

func (r *translateReport) write(w io.Writer, m *translate.Manifests, res translate.Result) {
	counts := map[string]int{}
	for _, o := range m.Objects {
		counts[strings.TrimPrefix(fmt.Sprintf("%T", o), "*")]++
	}
	var read []string
	for _, k := range []struct{ typ, name string }{
		{"v1.Ingress", "Ingress"}, {"v1.IngressClass", "IngressClass"}, {"v1.Service", "Service"},
		{"v1.EndpointSlice", "EndpointSlice"}, {"v1.ConfigMap", "ConfigMap"}, {"v1.Secret", "Secret"},
	} {
		if n := counts[k.typ]; n > 0 {
			read = append(read, fmt.Sprintf("%s %d", k.name, n))
		}
	}
	fmt.Fprintf(w, "# read: %s\n", orNone(strings.Join(read, ", ")))
	if len(m.Skipped) > 0 {
		var skipped []string
		for _, k := range slices.Sorted(maps.Keys(m.Skipped)) {
			skipped = append(skipped, fmt.Sprintf("%s %d", k, m.Skipped[k]))
		}
		fmt.Fprintf(w, "# not read (the controller does not watch these kinds): %s\n", strings.Join(skipped, ", "))
	}
	fmt.Fprintf(w, "# table: %s\n", tableSummary(res.Config))

	byObject := map[translate.ObjectRef][]translate.Event{}
	for _, e := range res.Events {
		ref := e.Object
		ref.UID = ""
		byObject[ref] = append(byObject[ref], e)
	}
	served := map[types.NamespacedName]bool{}
	for _, key := range res.Ingresses {
		served[key] = true
		fmt.Fprintf(w, "# Ingress %s: served\n", key)
		ref := translate.ObjectRef{Kind: "Ingress", Namespace: key.Namespace, Name: key.Name}
		r.annotations(w, r.snap.Ingresses[key], byObject[ref])
		writeEvents(w, byObject[ref])
		delete(byObject, ref)
	}
	for _, key := range slices.SortedFunc(maps.Keys(r.snap.Ingresses), compareNN) {
		if !served[key] {
			fmt.Fprintf(w, "# Ingress %s: not served: %s\n", key, r.notOurs(r.snap.Ingresses[key]))
		}
	}
	for _, key := range configMapKeys(m) {
		ref := translate.ObjectRef{Kind: "ConfigMap", Namespace: key.Namespace, Name: key.Name}
		if key != r.opts.TCPServicesConfigMap {
			fmt.Fprintf(w, "# ConfigMap %s: not read (--tcp-services-configmap %s serves it as TCP services)\n", key, key)
			continue
		}
		fmt.Fprintf(w, "# ConfigMap %s: TCP services\n", key)
		writeEvents(w, byObject[ref])
		delete(byObject, ref)
	}
	// Events about objects not listed above (none today), so that no
	// Event is ever left out of the report.
	for _, ref := range slices.SortedFunc(maps.Keys(byObject), func(a, b translate.ObjectRef) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	}) {
		fmt.Fprintf(w, "# %s %s/%s:\n", ref.Kind, ref.Namespace, ref.Name)
		writeEvents(w, byObject[ref])
	}
}

// annotations lists the annotations of a served Ingress that the translation
// honored: those it reads, minus those an Event says it could not.
func (r *translateReport) annotations(w io.Writer, ing *networkingv1.Ingress, events []translate.Event) {
	if ing == nil {
		return
	}
	var honored []string
	for _, k := range slices.Sorted(maps.Keys(ing.Annotations)) {
		if !translate.Honors(k) {
			continue
		}
		rejected := slices.ContainsFunc(events, func(e translate.Event) bool { return e.Annotation == k })
		if !rejected {
			honored = append(honored, k+"="+ing.Annotations[k])
		}
	}
	if len(honored) > 0 {
		fmt.Fprintf(w, "#   annotations honored: %s\n", strings.Join(honored, ", "))
	}
}

func writeEvents(w io.Writer, events []translate.Event) {
	for _, e := range events {
		fmt.Fprintf(w, "#   %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
}

// tableSummary counts what the table routes: rules and default backends of
// the HTTP frontends, TCP listeners, backends and their servers.
func tableSummary(c *config.Config) string {
	var rules, tcp, backends, servers, empty int
	var defaults []string
	for _, f := range c.Frontends {
		if f.Mode == config.ModeTCP {
			tcp++
			continue
		}
		rules += len(f.UseBackends)
		if f.DefaultBackend != "" {
			defaults = append(defaults, f.DefaultBackend)
		}
	}
	for _, b := range c.Backends {
		backends++
		servers += len(b.Servers)
		if len(b.Servers) == 0 && b.Name != translate.NotFoundBackend {
			empty++
		}
	}
	return fmt.Sprintf("%d use_backend rules, default_backend %s, %d TCP listeners, %d backends (%d without servers), %d servers",
		rules, orNone(strings.Join(defaults, " ")), tcp, backends, empty, servers)
}

func configMapKeys(m *translate.Manifests) []types.NamespacedName {
	var out []types.NamespacedName
	for _, o := range m.Objects {
		if cm, ok := o.(*corev1.ConfigMap); ok {
			out = append(out, types.NamespacedName{Namespace: cm.Namespace, Name: cm.Name})
		}
	}
	slices.SortFunc(out, compareNN)
	return slices.Compact(out)
}

func compareNN(a, b types.NamespacedName) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
