package chart

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// scenario is one interesting set of values. Every scenario is rendered
// with every Helm, linted, checked, and applied to the API server; each has
// its own release name, namespace and IngressClass so that all of them can
// live in one cluster.
type scenario struct {
	name        string
	release     string
	namespace   string
	values      string
	apiVersions []string
	// fullname is the prefix of the release's object names.
	fullname string
	// class is the IngressClass the release serves.
	class string
	// watch is controller.watchNamespace.
	watch string
	// defaultCert is controller.defaultSSLCertificate, NAMESPACE/NAME.
	defaultCert string
	// publishService and leaderElect mirror the values of the same name.
	publishService, leaderElect bool
	// check asserts what is particular to the scenario.
	check func(t *testing.T, s scenario, r *release)
}

// serviceMonitorAPI is what `helm template --api-versions` passes for a
// cluster that serves the Prometheus Operator's ServiceMonitor.
const serviceMonitorAPI = "monitoring.coreos.com/v1/ServiceMonitor"

var scenarios = []scenario{
	{
		name: "default", release: "sluice", namespace: "ingress",
		fullname: "sluice", class: "sluice", publishService: true, leaderElect: true,
		check: checkDefault,
	},
	{
		name: "daemonset", release: "edge", namespace: "edge-system",
		fullname: "edge-sluice", class: "edge", publishService: true, leaderElect: true,
		values: `
ingressClass:
  name: edge
  default: true
controller:
  kind: DaemonSet
  priorityClassName: system-cluster-critical
  nodeSelector:
    ingress: "true"
  tolerations:
    - key: node-role.kubernetes.io/control-plane
      operator: Exists
      effect: NoSchedule
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - key: node.kubernetes.io/instance-type
                operator: NotIn
                values: [spot]
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: topology.kubernetes.io/zone
      whenUnsatisfiable: ScheduleAnyway
  service:
    type: NodePort
    externalTrafficPolicy: Local
    nodePorts:
      http: 30080
      https: 30443
`,
		check: checkDaemonSet,
	},
	{
		name: "watch-namespace", release: "team", namespace: "team-ingress",
		fullname: "team-sluice", class: "team", watch: "team-apps", publishService: true, leaderElect: true,
		defaultCert: "team-certs/wildcard",
		values: `
ingressClass:
  name: team
controller:
  watchNamespace: team-apps
  defaultSSLCertificate: team-certs/wildcard
  replicaCount: 1
`,
		check: checkWatchNamespace,
	},
	{
		name: "tcp", release: "tcp", namespace: "tcp-ingress",
		fullname: "tcp-sluice", class: "tcp", publishService: true, leaderElect: true,
		values: `
ingressClass:
  name: tcp
controller:
  service:
    externalTrafficPolicy: Local
    annotations:
      service.beta.kubernetes.io/aws-load-balancer-type: nlb
    loadBalancerSourceRanges: [192.0.2.0/24]
    enableHttps: false
    nodePorts:
      tcp:
        "9000": 30900
tcp:
  "9000": db/postgres:5432
  "6379": cache/redis:redis
`,
		check: checkTCP,
	},
	{
		name: "hpa", release: "scaled", namespace: "scaled-ingress",
		fullname: "scaled-sluice", class: "scaled", publishService: true, leaderElect: true,
		values: `
ingressClass:
  name: scaled
controller:
  autoscaling:
    enabled: true
    minReplicas: 3
    maxReplicas: 9
    targetCPUUtilizationPercentage: 60
    targetMemoryUtilizationPercentage: 75
  podDisruptionBudget:
    maxUnavailable: ""
    minAvailable: 50%
  resources:
    requests:
      cpu: 250m
      memory: 256Mi
    limits:
      memory: 1Gi
`,
		check: checkHPA,
	},
	{
		name: "servicemonitor", release: "mon", namespace: "mon-ingress",
		fullname: "mon-sluice", class: "mon", publishService: true, leaderElect: true,
		apiVersions: []string{serviceMonitorAPI},
		values: `
ingressClass:
  name: mon
controller:
  metrics:
    serviceMonitor:
      enabled: true
      interval: 15s
      labels:
        release: prometheus
`,
		check: checkServiceMonitor,
	},
	{
		name: "fixed-status", release: "fixed", namespace: "fixed-ingress",
		fullname: "fixed-sluice", class: "fixed", defaultCert: "fixed-ingress/wildcard",
		values: `
ingressClass:
  name: fixed
  create: false
controller:
  replicaCount: 1
  leaderElect: false
  publishService: false
  publishStatusAddress: 203.0.113.10
  defaultSSLCertificate: fixed-ingress/wildcard
  service:
    type: ClusterIP
serviceAccount:
  name: edge-proxy
  annotations:
    example.com/role: ingress
`,
		check: checkFixedStatus,
	},
}

// Rules the chart must grant, and no others. Cached reads need list and
// watch only; the published Service is read uncached (get); status is
// patched; Events go through events.k8s.io/v1 (create, and patch when an
// Event repeats). The Secrets informer asks for TLS Secrets only, by a
// field selector that RBAC cannot restrict to.
var (
	secretsRule  = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"}}
	watchedRules = []rbacv1.PolicyRule{
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"list", "watch"}},
		secretsRule,
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
	ingressClassRule = rbacv1.PolicyRule{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingressclasses"}, Verbs: []string{"list", "watch"}}
)

// expectedRole is a ClusterRole (namespace "") or Role the chart must
// render, bound to the release's ServiceAccount by the binding of the same
// kind, namespace and name.
type expectedRole struct {
	kind, namespace, name string
	rules                 []rbacv1.PolicyRule
}

func (e expectedRole) String() string {
	if e.namespace == "" {
		return e.kind + " " + e.name
	}
	return e.kind + " " + e.namespace + "/" + e.name
}

// expectedRBAC is the least privilege of a scenario, every role of it: the
// ClusterRole, the release namespace's Role, the watched namespace's
// (with watchNamespace), and the default certificate namespace's (with
// watchNamespace, when the Secret is in another namespace).
func (s scenario) expectedRBAC() []expectedRole {
	cluster := []rbacv1.PolicyRule{ingressClassRule}
	if s.watch == "" {
		cluster = append(slices.Clone(watchedRules), ingressClassRule)
	}
	release := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{s.fullname + "-tcp"}, Verbs: []string{"list", "watch"}}}
	if s.publishService {
		release = append(release, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services"}, ResourceNames: []string{s.fullname}, Verbs: []string{"get"}})
	}
	if s.leaderElect {
		release = append(release,
			rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
			rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{"sluice-" + s.class + "-leader"}, Verbs: []string{"get", "update"}})
	}
	if s.watch != "" && s.watch != s.namespace {
		release = append(release, rbacv1.PolicyRule{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}})
	}
	roles := []expectedRole{
		{"ClusterRole", "", s.fullname, cluster},
		{"Role", s.namespace, s.fullname, release},
	}
	if s.watch != "" {
		roles = append(roles, expectedRole{"Role", s.watch, s.fullname + "-watch", watchedRules})
		if ns := s.certNamespace(); ns != "" && ns != s.watch {
			roles = append(roles, expectedRole{"Role", ns, s.fullname + "-default-certificate", []rbacv1.PolicyRule{secretsRule}})
		}
	}
	return roles
}

// certNamespace is the namespace of the default certificate's Secret, or
// "" without one.
func (s scenario) certNamespace() string {
	ns, _, _ := strings.Cut(s.defaultCert, "/")
	return ns
}

func scenarioNamed(name string) scenario {
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	panic("no scenario " + name)
}

func (s scenario) renderOpts() renderOpts {
	return renderOpts{release: s.release, namespace: s.namespace, values: s.values, apiVersions: s.apiVersions}
}
