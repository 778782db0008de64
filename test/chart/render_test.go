package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// TestRender renders every scenario with every Helm and checks the
// objects: what all releases share, then what the scenario is about.
func TestRender(t *testing.T) {
	for _, h := range helms {
		for _, s := range scenarios {
			t.Run(h.major()+"/"+s.name, func(t *testing.T) {
				r := h.render(t, s.renderOpts())
				checkCommon(t, s, r)
				s.check(t, s, r)
			})
		}
	}
}

// TestHelmVersionsAgree: Helm 3 and 4 render the same objects.
func TestHelmVersionsAgree(t *testing.T) {
	if len(helms) < 2 {
		t.Fatalf("hack/helm/versions.sh names %d Helm versions; the chart is tested with both majors", len(helms))
	}
	majors := map[string]bool{}
	for _, h := range helms {
		majors[h.major()] = true
	}
	if !majors["v3"] || !majors["v4"] {
		t.Fatalf("Helm versions %v: want a v3 and a v4", helms)
	}
	for _, s := range scenarios {
		base := helms[0].render(t, s.renderOpts())
		for _, h := range helms[1:] {
			other := h.render(t, s.renderOpts())
			if !slices.Equal(base.keys(), other.keys()) {
				t.Errorf("%s: Helm %s renders %v, Helm %s %v", s.name, helms[0].version, base.keys(), h.version, other.keys())
				continue
			}
			for k, obj := range base.objs {
				if !equality.Semantic.DeepEqual(obj, other.objs[k]) {
					t.Errorf("%s: %s differs between Helm %s and %s", s.name, k, helms[0].version, h.version)
				}
			}
		}
	}
}

// TestLint runs `helm lint --strict` on every scenario's values.
func TestLint(t *testing.T) {
	for _, h := range helms {
		for _, s := range scenarios {
			args := []string{"lint", "--strict", chartDir, "--namespace", s.namespace}
			if s.values != "" {
				args = append(args, "-f", valuesFile(t, s.values))
			}
			if out, err := h.run(args...); err != nil {
				t.Errorf("%s: %v\n%s", s.name, err, out)
			} else if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("%s: helm %s lint: %s", s.name, h.version, out)
			}
		}
	}
}

// TestValuesRejected: values.schema.json and the chart's own checks refuse
// typos, wrong types and combinations that cannot work, naming the problem.
func TestValuesRejected(t *testing.T) {
	cases := []struct {
		name, values, want string
	}{
		{"misspelt key", "controller:\n  replicas: 3\n", "replicas"},
		{"misspelt top-level key", "ingresClass:\n  name: x\n", "ingresClass"},
		{"replicas not a number", "controller:\n  replicaCount: two\n", "/controller/replicaCount"},
		{"unknown kind", "controller:\n  kind: StatefulSet\n", "/controller/kind"},
		{"unknown service type", "controller:\n  service:\n    type: ExternalName\n", "/controller/service/type"},
		{"bad traffic policy", "controller:\n  service:\n    externalTrafficPolicy: local\n", "externalTrafficPolicy"},
		{"traffic policy on ClusterIP", "controller:\n  service:\n    type: ClusterIP\n    externalTrafficPolicy: Local\n", "externalTrafficPolicy needs type LoadBalancer or NodePort"},
		{"privileged container port", "controller:\n  containerPorts:\n    http: 80\n", "/controller/containerPorts/http"},
		{"boolean as string", "ingressClass:\n  default: \"yes\"\n", "/ingressClass/default"},
		{"tcp port too low", "tcp:\n  \"22\": ns/ssh:22\n", "22"},
		{"tcp port not a number", "tcp:\n  ssh: ns/ssh:22\n", "ssh"},
		{"tcp port too high", "tcp:\n  \"70000\": ns/svc:1\n", "between 1024 and 65535"},
		{"tcp port is the HTTP port", "tcp:\n  \"8080\": ns/svc:1\n", "8080 is the HTTP port"},
		{"tcp port is the metrics port", "tcp:\n  \"10254\": ns/svc:1\n", "10254 is the metrics port"},
		{"tcp target without port", "tcp:\n  \"9000\": ns/svc\n", "/tcp/9000"},
		{"tcp PROXY suffix", "tcp:\n  \"9000\": ns/svc:5432:PROXY\n", "/tcp/9000"},
		{"node port of no tcp service", "controller:\n  service:\n    nodePorts:\n      tcp:\n        \"9000\": 30900\n", "\"9000\" is not a port of tcp"},
		{"autoscaled DaemonSet", "controller:\n  kind: DaemonSet\n  autoscaling:\n    enabled: true\n", "needs controller.kind Deployment"},
		{"autoscaler bounds", "controller:\n  autoscaling:\n    enabled: true\n    minReplicas: 5\n    maxReplicas: 2\n", "minReplicas is greater than maxReplicas"},
		{"grace period too short", "controller:\n  terminationGracePeriodSeconds: 20\n", "must cover preStopSleepSeconds + drainSeconds (35)"},
		{"both status sources", "controller:\n  publishStatusAddress: 192.0.2.1\n", "exclusive"},
		{"both PDB bounds", "controller:\n  podDisruptionBudget:\n    minAvailable: 1\n", "only one of maxUnavailable and minAvailable"},
		{"flag the chart sets", "controller:\n  extraArgs:\n    watch-namespace: x\n", "--watch-namespace is set by the chart"},
		{"default certificate flag in extraArgs", "controller:\n  extraArgs:\n    default-ssl-certificate: ns/tls\n", "--default-ssl-certificate is set by the chart"},
		{"default certificate without namespace", "controller:\n  defaultSSLCertificate: wildcard\n", "/controller/defaultSSLCertificate"},
		{"default certificate with a bad namespace", "controller:\n  defaultSSLCertificate: Certs/wildcard\n", "/controller/defaultSSLCertificate"},
		{"default certificate with a path", "controller:\n  defaultSSLCertificate: certs/a/b\n", "/controller/defaultSSLCertificate"},
		{"default certificate not a string", "controller:\n  defaultSSLCertificate: true\n", "/controller/defaultSSLCertificate"},
		{"no port at all", "controller:\n  service:\n    enableHttp: false\n    enableHttps: false\n", "exposes no port"},
		{"bad watch namespace", "controller:\n  watchNamespace: Team_A\n", "/controller/watchNamespace"},
		{"bad image digest", "image:\n  digest: latest\n", "/image/digest"},
		{"resources typo", "controller:\n  resources:\n    limit:\n      cpu: 1\n", "limit"},
		{"probe typo", "controller:\n  readinessProbe:\n    period: 3\n", "period"},
		{"ServiceMonitor without the metrics Service", "controller:\n  metrics:\n    service:\n      enabled: false\n    serviceMonitor:\n      enabled: true\n", "needs controller.metrics.service.enabled"},
		{"bad scrape interval", "controller:\n  metrics:\n    serviceMonitor:\n      interval: often\n", "interval"},
	}
	for _, h := range helms {
		for _, c := range cases {
			out, err := h.template(t, renderOpts{release: "sluice", namespace: "ingress", values: c.values})
			if err == nil {
				t.Errorf("helm %s, %s: rendered without error:\n%.300s", h.version, c.name, out)
				continue
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("helm %s, %s: error does not mention %q:\n%v", h.version, c.name, c.want, err)
			}
		}
	}
}

// TestDefaultCertificate renders controller.defaultSSLCertificate against
// each place its Secret can be: the flag is passed as given, and Secrets
// are readable where the controller's informer looks for it, without a
// Role more than needed.
func TestDefaultCertificate(t *testing.T) {
	cases := []struct {
		name, watch, cert string
		// certRole is the namespace of the extra Role, "" for none.
		certRole string
	}{
		{"cluster-wide", "", "certs/wildcard", ""},
		{"in the watched namespace", "apps", "apps/wildcard", ""},
		{"in the release namespace", "apps", "ingress/wildcard", "ingress"},
		{"in a third namespace", "apps", "certs/wildcard", "certs"},
		{"none with watchNamespace", "apps", "", ""},
	}
	for _, h := range helms {
		for _, c := range cases {
			t.Run(h.major()+"/"+c.name, func(t *testing.T) {
				s := scenario{
					name: c.name, release: "sluice", namespace: "ingress", fullname: "sluice", class: "sluice",
					watch: c.watch, defaultCert: c.cert, publishService: true, leaderElect: true,
					values: fmt.Sprintf("controller:\n  watchNamespace: %q\n  defaultSSLCertificate: %q\n", c.watch, c.cert),
				}
				r := h.render(t, s.renderOpts())
				checkCommon(t, s, r)
				var got []string
				for _, k := range r.keys() {
					if strings.HasSuffix(k, "-default-certificate") {
						got = append(got, k)
					}
				}
				var want []string
				if c.certRole != "" {
					want = []string{"Role/" + c.certRole + "/sluice-default-certificate", "RoleBinding/" + c.certRole + "/sluice-default-certificate"}
				}
				if !slices.Equal(got, want) {
					t.Errorf("default certificate roles %v, want %v", got, want)
				}
			})
		}
	}
}

// TestValuesDocumented: every key of values.yaml is in the schema (which
// refuses unknown keys, so this holds by construction) and in the README's
// values table, so the table cannot fall behind.
func TestValuesDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	var keys []string
	leafKeys("", values, &keys)
	if len(keys) < 50 {
		t.Fatalf("found only %d keys in values.yaml: %v", len(keys), keys)
	}
	// The chart's README and the project's both carry the values table.
	for _, doc := range []string{filepath.Join(chartDir, "README.md"), filepath.Join(chartDir, "..", "..", "README.md")} {
		readme, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !strings.Contains(string(readme), "| `"+k+"` |") {
				t.Errorf("values.yaml key %s has no row in %s", k, doc)
			}
		}
	}
}

// leafKeys lists dotted paths of values, stopping at maps the user fills
// (empty in values.yaml) and at lists.
func leafKeys(prefix string, v any, out *[]string) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 || freeForm(prefix) {
		*out = append(*out, prefix)
		return
	}
	for k, child := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		leafKeys(p, child, out)
	}
}

// freeForm are values whose content is Kubernetes' own schema, documented
// there: the table documents them as one row.
func freeForm(key string) bool {
	switch key {
	case "controller.resources", "controller.nodeSelector", "controller.podSecurityContext",
		"controller.securityContext", "controller.livenessProbe", "controller.readinessProbe":
		return true
	}
	return false
}

// checkCommon asserts what every release must be: a hardened pod running
// the chart's flags as the chart's ServiceAccount, Services that reach its
// ports, least-privilege RBAC, and consistent labels.
func checkCommon(t *testing.T, s scenario, r *release) {
	t.Helper()
	pod, kind := podTemplate(t, s, r)
	sel := selectorOf(t, r, s)
	if !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("%s selector %v does not match its pod labels %v", kind, sel, pod.Labels)
	}
	spec := pod.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]

	// Image: the chart's appVersion unless overridden.
	if want := "ghcr.io/sluice-dev/sluice:" + chartAppVersion(t); c.Image != want {
		t.Errorf("image %q, want %q", c.Image, want)
	}

	// Hardened: non-root, read-only root, no privilege, no capability,
	// seccomp RuntimeDefault.
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("no pod or container security context")
	}
	if !isTrue(sc.RunAsNonRoot) || !isTrue(psc.RunAsNonRoot) {
		t.Error("runAsNonRoot is not set on pod and container")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("container runAsUser %v, want a non-zero uid", sc.RunAsUser)
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Error("root filesystem is writable")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("privilege escalation is allowed")
	}
	if isTrue(sc.Privileged) {
		t.Error("privileged container")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities %+v, want drop [ALL] and no add", sc.Capabilities)
	}
	for _, p := range []*corev1.SeccompProfile{psc.SeccompProfile, sc.SeccompProfile} {
		if p == nil || p.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("seccomp profile %+v, want RuntimeDefault", p)
		}
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Error("pod shares a host namespace")
	}

	// Unprivileged ports, named so that probes and Services refer to them.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		if p.ContainerPort < 1024 {
			t.Errorf("container port %s is %d: binding it needs a capability", p.Name, p.ContainerPort)
		}
		if p.HostPort != 0 {
			t.Errorf("container port %s takes host port %d", p.Name, p.HostPort)
		}
		ports[p.Name] = p.ContainerPort
	}
	if want := map[string]int32{"http": 8080, "https": 8443, "metrics": 10254}; !reflect.DeepEqual(ports, want) {
		t.Errorf("container ports %v, want %v", ports, want)
	}

	// The flags: everything the chart decides, with pod-local addresses.
	flags := parseArgs(t, c.Args)
	want := map[string]string{
		"ingress-class":          s.class,
		"controller-name":        "sluice.dev/ingress-controller",
		"http-addr":              ":8080",
		"https-addr":             ":8443",
		"metrics-addr":           ":10254",
		"tcp-services-configmap": s.namespace + "/" + s.fullname + "-tcp",
		"leader-elect":           strconv.FormatBool(s.leaderElect),
		"grace":                  "30s",
		"access-log":             "-",
	}
	if s.publishService {
		want["publish-service"] = s.namespace + "/" + s.fullname
	}
	if s.watch != "" {
		want["watch-namespace"] = s.watch
	}
	if s.defaultCert != "" {
		want["default-ssl-certificate"] = s.defaultCert
	} else if v, ok := flags["default-ssl-certificate"]; ok {
		t.Errorf("--default-ssl-certificate=%q without controller.defaultSSLCertificate", v)
	}
	for k, v := range want {
		if flags[k] != v {
			t.Errorf("--%s=%q, want %q (args %q)", k, flags[k], v, c.Args)
		}
	}
	if s.publishService {
		if _, ok := flags["publish-status-address"]; ok {
			t.Error("both --publish-service and --publish-status-address")
		}
		svc := get[*corev1.Service](t, r, "Service", s.fullname)
		if svc.Namespace != s.namespace {
			t.Errorf("published Service in %q", svc.Namespace)
		}
	}
	// The TCP services ConfigMap the flag names exists, even when empty, so
	// that adding TCP services is a live change.
	get[*corev1.ConfigMap](t, r, "ConfigMap", s.fullname+"-tcp")

	// Downward API: the Lease's namespace and holder.
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if env["POD_NAME"] != "metadata.name" || env["POD_NAMESPACE"] != "metadata.namespace" {
		t.Errorf("POD_NAME/POD_NAMESPACE from the downward API: got %v", env)
	}

	// Probes on the metrics port.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("metrics") {
			t.Errorf("%s probe %s on %s, want %s on metrics", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}

	// Graceful termination: the kubelet waits out the pre-stop sleep and
	// the drain before it kills.
	grace, err := time.ParseDuration(flags["grace"])
	if err != nil {
		t.Fatalf("--grace: %v", err)
	}
	var sleep int64
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Error("no pre-stop sleep")
	} else {
		sleep = c.Lifecycle.PreStop.Sleep.Seconds
	}
	if spec.TerminationGracePeriodSeconds == nil || time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second < grace+time.Duration(sleep)*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v does not cover a %ds pre-stop sleep and a %s drain", spec.TerminationGracePeriodSeconds, sleep, grace)
	}

	// Runs as the chart's ServiceAccount, which the bindings name.
	sa := spec.ServiceAccountName
	if sa == "" || sa == "default" {
		t.Fatalf("serviceAccountName %q", sa)
	}
	get[*corev1.ServiceAccount](t, r, "ServiceAccount", sa)
	checkRBAC(t, s, r, sa)

	// Services: every port lands on a port the container declares or a TCP
	// service listens on; the selector picks the controller's pods.
	cm := get[*corev1.ConfigMap](t, r, "ConfigMap", s.fullname+"-tcp")
	for _, name := range []string{s.fullname, s.fullname + "-metrics"} {
		if !r.has("Service", name) {
			continue
		}
		svc := get[*corev1.Service](t, r, "Service", name)
		if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(svc.Spec.Selector) == 0 {
			t.Errorf("Service %s selector %v does not pick the pods %v", name, svc.Spec.Selector, pod.Labels)
		}
		for _, p := range svc.Spec.Ports {
			tp := p.TargetPort
			switch {
			case tp.Type == intstr.String && ports[tp.StrVal] != 0:
			case tp.Type == intstr.Int && cm.Data[strconv.Itoa(tp.IntValue())] != "":
			default:
				t.Errorf("Service %s port %s targets %s, which the pod does not serve", name, p.Name, tp.String())
			}
		}
	}

	// IngressClass, when created, names the controller.
	if r.has("IngressClass", s.class) {
		ic := get[*networkingv1.IngressClass](t, r, "IngressClass", s.class)
		if ic.Spec.Controller != "sluice.dev/ingress-controller" {
			t.Errorf("IngressClass controller %q", ic.Spec.Controller)
		}
	}

	// Every object is labelled as the release's and lives in the release
	// namespace, bar cluster-scoped ones and the Roles (and bindings) of
	// the watched and default certificate namespaces.
	roles := s.expectedRBAC()
	for k, obj := range r.objs {
		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if m.GetLabels()["app.kubernetes.io/instance"] != s.release || m.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s labels %v", k, m.GetLabels())
		}
		switch {
		case k.kind == "ClusterRole" || k.kind == "ClusterRoleBinding" || k.kind == "IngressClass":
			if k.namespace != "" {
				t.Errorf("%s has a namespace", k)
			}
		case k.kind == "Role" || k.kind == "RoleBinding":
			if !slices.ContainsFunc(roles, func(e expectedRole) bool { return e.kind == "Role" && e.namespace == k.namespace && e.name == k.name }) {
				t.Errorf("%s is none of the expected Roles %v", k, roles)
			}
		case k.namespace != s.namespace:
			t.Errorf("%s not in the release namespace %s", k, s.namespace)
		}
	}
}

// checkRBAC compares the rendered rules with the least privilege the
// controller needs, rule for rule, and checks that the bindings give them
// to the pod's ServiceAccount.
func checkRBAC(t *testing.T, s scenario, r *release, sa string) {
	t.Helper()
	roles := s.expectedRBAC()
	for _, want := range roles {
		var rules []rbacv1.PolicyRule
		var ref rbacv1.RoleRef
		var subjects []rbacv1.Subject
		if want.kind == "ClusterRole" {
			rules = getIn[*rbacv1.ClusterRole](t, r, want.kind, "", want.name).Rules
			crb := getIn[*rbacv1.ClusterRoleBinding](t, r, "ClusterRoleBinding", "", want.name)
			ref, subjects = crb.RoleRef, crb.Subjects
		} else {
			rules = getIn[*rbacv1.Role](t, r, want.kind, want.namespace, want.name).Rules
			rb := getIn[*rbacv1.RoleBinding](t, r, "RoleBinding", want.namespace, want.name)
			ref, subjects = rb.RoleRef, rb.Subjects
		}
		if !equality.Semantic.DeepEqual(rules, want.rules) {
			t.Errorf("%s rules:\n got %s\nwant %s", want, rulesString(rules), rulesString(want.rules))
		}
		if ref.Kind != want.kind || ref.Name != want.name {
			t.Errorf("the binding of %s binds %s %s", want, ref.Kind, ref.Name)
		}
		wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: s.namespace}}
		if !reflect.DeepEqual(subjects, wantSubjects) {
			t.Errorf("the binding of %s: subjects %+v, want %+v", want, subjects, wantSubjects)
		}
	}
	if n := r.countKind("Role") + r.countKind("ClusterRole"); n != len(roles) {
		t.Errorf("%d roles rendered, want %d (%v)", n, len(roles), roles)
	}
	if n := r.countKind("RoleBinding") + r.countKind("ClusterRoleBinding"); n != len(roles) {
		t.Errorf("%d bindings rendered, want %d", n, len(roles))
	}
}

func checkDefault(t *testing.T, s scenario, r *release) {
	want := []string{
		"ClusterRole/sluice", "ClusterRoleBinding/sluice", "ConfigMap/ingress/sluice-tcp",
		"Deployment/ingress/sluice", "IngressClass/sluice", "PodDisruptionBudget/ingress/sluice",
		"Role/ingress/sluice", "RoleBinding/ingress/sluice", "Service/ingress/sluice",
		"Service/ingress/sluice-metrics", "ServiceAccount/ingress/sluice",
	}
	if got := r.keys(); !slices.Equal(got, want) {
		t.Errorf("rendered %v\nwant %v", got, want)
	}
	d := get[*appsv1.Deployment](t, r, "Deployment", "sluice")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
		t.Errorf("rolling update %+v: want surge 1, unavailable 0", ru)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Resources.Requests.Cpu().String() != "100m" || c.Resources.Limits.Memory().String() != "512Mi" {
		t.Errorf("resources %+v", c.Resources)
	}
	if d.Spec.Template.Spec.NodeSelector["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector %v", d.Spec.Template.Spec.NodeSelector)
	}
	svc := get[*corev1.Service](t, r, "Service", "sluice")
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("Service type %s", svc.Spec.Type)
	}
	if got := servicePorts(svc); !reflect.DeepEqual(got, []string{"http:80->http", "https:443->https"}) {
		t.Errorf("Service ports %v", got)
	}
	if svc.Spec.ExternalTrafficPolicy != "" {
		t.Errorf("externalTrafficPolicy %q set by default", svc.Spec.ExternalTrafficPolicy)
	}
	m := get[*corev1.Service](t, r, "Service", "sluice-metrics")
	if m.Spec.Type != corev1.ServiceTypeClusterIP || !reflect.DeepEqual(servicePorts(m), []string{"metrics:10254->metrics"}) {
		t.Errorf("metrics Service %s %v", m.Spec.Type, servicePorts(m))
	}
	ic := get[*networkingv1.IngressClass](t, r, "IngressClass", "sluice")
	if _, ok := ic.Annotations["ingressclass.kubernetes.io/is-default-class"]; ok {
		t.Error("IngressClass is the default without ingressClass.default")
	}
	pdb := get[*policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", "sluice")
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB %+v", pdb.Spec)
	}
	if cm := get[*corev1.ConfigMap](t, r, "ConfigMap", "sluice-tcp"); len(cm.Data) != 0 {
		t.Errorf("TCP ConfigMap data %v without tcp values", cm.Data)
	}
}

func checkDaemonSet(t *testing.T, s scenario, r *release) {
	if r.countKind("Deployment") != 0 || r.countKind("HorizontalPodAutoscaler") != 0 {
		t.Errorf("rendered %v", r.keys())
	}
	ds := get[*appsv1.DaemonSet](t, r, "DaemonSet", s.fullname)
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		t.Errorf("update strategy %+v", ds.Spec.UpdateStrategy)
	}
	spec := ds.Spec.Template.Spec
	if spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName %q", spec.PriorityClassName)
	}
	// Helm merges maps with the defaults: the default OS selector stays.
	if !reflect.DeepEqual(spec.NodeSelector, map[string]string{"ingress": "true", "kubernetes.io/os": "linux"}) {
		t.Errorf("nodeSelector %v", spec.NodeSelector)
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "node-role.kubernetes.io/control-plane" || spec.Tolerations[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("tolerations %+v", spec.Tolerations)
	}
	if a := spec.Affinity; a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key != "node.kubernetes.io/instance-type" {
		t.Errorf("affinity %+v", spec.Affinity)
	}
	if len(spec.TopologySpreadConstraints) != 1 {
		t.Fatalf("topologySpreadConstraints %+v", spec.TopologySpreadConstraints)
	}
	tsc := spec.TopologySpreadConstraints[0]
	// The chart fills in the pods' selector when the user leaves it out.
	sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
	if err != nil || !sel.Matches(labels.Set(ds.Spec.Template.Labels)) || tsc.TopologyKey != "topology.kubernetes.io/zone" {
		t.Errorf("topology spread %+v (selector error %v)", tsc, err)
	}
	ic := get[*networkingv1.IngressClass](t, r, "IngressClass", "edge")
	if ic.Annotations["ingressclass.kubernetes.io/is-default-class"] != "true" {
		t.Errorf("IngressClass annotations %v, want the default-class one", ic.Annotations)
	}
	svc := get[*corev1.Service](t, r, "Service", s.fullname)
	if svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("Service %s, traffic policy %q", svc.Spec.Type, svc.Spec.ExternalTrafficPolicy)
	}
	nodePorts := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		nodePorts[p.Name] = p.NodePort
	}
	if !reflect.DeepEqual(nodePorts, map[string]int32{"http": 30080, "https": 30443}) {
		t.Errorf("node ports %v", nodePorts)
	}
	// A DaemonSet is disrupted node by node: the budget applies.
	get[*policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", s.fullname)
}

func checkWatchNamespace(t *testing.T, s scenario, r *release) {
	// RBAC is checked rule for rule in checkCommon; here, that nothing
	// namespaced is granted cluster-wide.
	cr := getIn[*rbacv1.ClusterRole](t, r, "ClusterRole", "", s.fullname)
	for _, rule := range cr.Rules {
		if !slices.Equal(rule.Resources, []string{"ingressclasses"}) {
			t.Errorf("ClusterRole grants %v with watchNamespace set", rule.Resources)
		}
	}
	// The default certificate is in a third namespace: Secrets there, and
	// nothing else.
	certs := getIn[*rbacv1.Role](t, r, "Role", "team-certs", s.fullname+"-default-certificate")
	if len(certs.Rules) != 1 || !slices.Equal(certs.Rules[0].Resources, []string{"secrets"}) || !slices.Equal(certs.Rules[0].Verbs, []string{"list", "watch"}) {
		t.Errorf("Role %s/%s rules: %s", certs.Namespace, certs.Name, rulesString(certs.Rules))
	}
	// One replica: no disruption budget, which would block node drains.
	if r.countKind("PodDisruptionBudget") != 0 {
		t.Errorf("PDB for a single replica: %v", r.keys())
	}
}

func checkTCP(t *testing.T, s scenario, r *release) {
	cm := get[*corev1.ConfigMap](t, r, "ConfigMap", s.fullname+"-tcp")
	if want := map[string]string{"9000": "db/postgres:5432", "6379": "cache/redis:redis"}; !reflect.DeepEqual(cm.Data, want) {
		t.Errorf("TCP ConfigMap data %v, want %v", cm.Data, want)
	}
	svc := get[*corev1.Service](t, r, "Service", s.fullname)
	if got, want := servicePorts(svc), []string{"http:80->http", "tcp-6379:6379->6379", "tcp-9000:9000->9000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Service ports %v, want %v", got, want)
	}
	for _, p := range svc.Spec.Ports {
		if want := map[string]int32{"tcp-9000": 30900}[p.Name]; p.NodePort != want {
			t.Errorf("port %s nodePort %d, want %d", p.Name, p.NodePort, want)
		}
	}
	if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("externalTrafficPolicy %q", svc.Spec.ExternalTrafficPolicy)
	}
	if svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"] != "nlb" {
		t.Errorf("annotations %v", svc.Annotations)
	}
	if !slices.Equal(svc.Spec.LoadBalancerSourceRanges, []string{"192.0.2.0/24"}) {
		t.Errorf("loadBalancerSourceRanges %v", svc.Spec.LoadBalancerSourceRanges)
	}
}

func checkHPA(t *testing.T, s scenario, r *release) {
	d := get[*appsv1.Deployment](t, r, "Deployment", s.fullname)
	if d.Spec.Replicas != nil {
		t.Errorf("replicas %d set while the autoscaler owns them", *d.Spec.Replicas)
	}
	hpa := get[*autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler", s.fullname)
	ref := hpa.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA targets %+v", ref)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 9 {
		t.Errorf("HPA bounds %v..%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	targets := map[corev1.ResourceName]int32{}
	for _, m := range hpa.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource.Target.AverageUtilization == nil {
			t.Fatalf("HPA metric %+v", m)
		}
		targets[m.Resource.Name] = *m.Resource.Target.AverageUtilization
	}
	if !reflect.DeepEqual(targets, map[corev1.ResourceName]int32{"cpu": 60, "memory": 75}) {
		t.Errorf("HPA targets %v", targets)
	}
	// Utilisation is relative to requests: they must be set.
	req := d.Spec.Template.Spec.Containers[0].Resources.Requests
	if req.Cpu().String() != "250m" || req.Memory().String() != "256Mi" {
		t.Errorf("requests %v", req)
	}
	pdb := get[*policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", s.fullname)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.String() != "50%" || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB %+v", pdb.Spec)
	}
}

func checkServiceMonitor(t *testing.T, s scenario, r *release) {
	sm := get[*unstructured.Unstructured](t, r, "ServiceMonitor", s.fullname)
	metrics := get[*corev1.Service](t, r, "Service", s.fullname+"-metrics")
	matchLabels, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if len(matchLabels) == 0 || !labels.SelectorFromSet(matchLabels).Matches(labels.Set(metrics.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not pick the metrics Service %v", matchLabels, metrics.Labels)
	}
	// ...and only it: not the traffic Service.
	if traffic := get[*corev1.Service](t, r, "Service", s.fullname); labels.SelectorFromSet(matchLabels).Matches(labels.Set(traffic.Labels)) {
		t.Errorf("ServiceMonitor selector %v also picks the traffic Service", matchLabels)
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("endpoints %v", endpoints)
	}
	ep := endpoints[0].(map[string]any)
	if ep["port"] != metrics.Spec.Ports[0].Name || ep["path"] != "/metrics" || ep["interval"] != "15s" {
		t.Errorf("endpoint %v", ep)
	}
	if sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("labels %v", sm.GetLabels())
	}
	// Without the CRD the ServiceMonitor is left out, and the rest is the
	// same.
	o := s.renderOpts()
	o.apiVersions = nil
	without := helms[0].render(t, o)
	if without.has("ServiceMonitor", s.fullname) {
		t.Error("ServiceMonitor rendered on a cluster without its CRD")
	}
	if len(without.objs) != len(r.objs)-1 {
		t.Errorf("without the CRD: %v", without.keys())
	}
}

func checkFixedStatus(t *testing.T, s scenario, r *release) {
	d := get[*appsv1.Deployment](t, r, "Deployment", s.fullname)
	flags := parseArgs(t, d.Spec.Template.Spec.Containers[0].Args)
	if flags["publish-status-address"] != "203.0.113.10" || flags["default-ssl-certificate"] != "fixed-ingress/wildcard" {
		t.Errorf("flags %v", flags)
	}
	if _, ok := flags["publish-service"]; ok {
		t.Error("--publish-service with publishService false")
	}
	if r.countKind("IngressClass") != 0 || r.countKind("PodDisruptionBudget") != 0 {
		t.Errorf("rendered %v", r.keys())
	}
	sa := get[*corev1.ServiceAccount](t, r, "ServiceAccount", "edge-proxy")
	if sa.Annotations["example.com/role"] != "ingress" {
		t.Errorf("ServiceAccount annotations %v", sa.Annotations)
	}
	if svc := get[*corev1.Service](t, r, "Service", s.fullname); svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service type %s", svc.Spec.Type)
	}
}

// podTemplate returns the Deployment's or DaemonSet's pod template.
func podTemplate(t *testing.T, s scenario, r *release) (corev1.PodTemplateSpec, string) {
	t.Helper()
	if r.has("DaemonSet", s.fullname) {
		return get[*appsv1.DaemonSet](t, r, "DaemonSet", s.fullname).Spec.Template, "DaemonSet"
	}
	return get[*appsv1.Deployment](t, r, "Deployment", s.fullname).Spec.Template, "Deployment"
}

func selectorOf(t *testing.T, r *release, s scenario) labels.Selector {
	t.Helper()
	var ls *metav1.LabelSelector
	if r.has("DaemonSet", s.fullname) {
		ls = get[*appsv1.DaemonSet](t, r, "DaemonSet", s.fullname).Spec.Selector
	} else {
		ls = get[*appsv1.Deployment](t, r, "Deployment", s.fullname).Spec.Selector
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// parseArgs maps --name=value flags; the first argument is the subcommand.
func parseArgs(t testing.TB, args []string) map[string]string {
	t.Helper()
	if len(args) == 0 || args[0] != "controller" {
		t.Fatalf("args %q do not start with the controller subcommand", args)
	}
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			t.Fatalf("argument %q is not --name=value", a)
		}
		if _, dup := flags[name]; dup {
			t.Errorf("--%s given twice", name)
		}
		flags[name] = value
	}
	return flags
}

func servicePorts(svc *corev1.Service) []string {
	var out []string
	for _, p := range svc.Spec.Ports {
		out = append(out, fmt.Sprintf("%s:%d->%s", p.Name, p.Port, p.TargetPort.String()))
	}
	return out
}

func rulesString(rules []rbacv1.PolicyRule) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "\n  %q %v %v names=%v", r.APIGroups, r.Resources, r.Verbs, r.ResourceNames)
	}
	return b.String()
}

func chartAppVersion(t testing.TB) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion: %q, %v", c.AppVersion, err)
	}
	return c.AppVersion
}

func isTrue(b *bool) bool { return b != nil && *b }
