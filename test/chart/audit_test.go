package chart

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// auditEvent is the part of an audit.k8s.io/v1 Event the tests read.
type auditEvent struct {
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	User      struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestURI string `json:"requestURI"`
}

func (e auditEvent) resource() string {
	if e.ObjectRef == nil {
		return ""
	}
	if e.ObjectRef.Subresource != "" {
		return e.ObjectRef.Resource + "/" + e.ObjectRef.Subresource
	}
	return e.ObjectRef.Resource
}

func (e auditEvent) code() int {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

func (e auditEvent) String() string {
	ns, name := "", ""
	if e.ObjectRef != nil {
		ns, name = e.ObjectRef.Namespace, e.ObjectRef.Name
	}
	return fmt.Sprintf("%s %s ns=%q name=%q -> %d (%s)", e.Verb, e.resource(), ns, name, e.code(), e.RequestURI)
}

// auditOf returns the audit events of requests that a user made with a
// user agent starting with agent.
func auditOf(t testing.TB, user, agent string) []auditEvent {
	t.Helper()
	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	// The API server may be writing a line as we read: only complete lines
	// count.
	lines := strings.Split(string(raw), "\n")
	var out []auditEvent
	for _, line := range lines[:len(lines)-1] {
		if line == "" {
			continue
		}
		var e auditEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit log: %v in %q", err, line)
		}
		if e.User.Username == user && strings.HasPrefix(e.UserAgent, agent) {
			out = append(out, e)
		}
	}
	return out
}

// grant is one (namespace scope, rule) the chart gives the ServiceAccount.
type grant struct {
	role string // for messages
	// namespace is where the grant applies; "" for a ClusterRole's.
	namespace string
	rule      rbacv1.PolicyRule
}

// checkLeastPrivilege compares what the controller did, per the audit log,
// with what the chart grants:
//   - no request was refused (401/403): the chart grants every permission
//     the controller uses;
//   - every verb on every resource of every rule was used at least once,
//     with success, within the rule's namespace and names: the chart grants
//     nothing the controller does not use.
//
// mayBeUnused names verbs that the run is known not to exercise (see the
// callers); they are still checked for refusals.
func checkLeastPrivilege(t *testing.T, s scenario, sa string, events []auditEvent, mayBeUnused ...string) {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no audit events for the controller")
	}
	for _, e := range events {
		if c := e.code(); c == 401 || c == 403 {
			t.Errorf("the controller was refused: %s", e)
		}
	}
	var grants []grant
	for _, role := range s.expectedRBAC() {
		for _, r := range role.rules {
			grants = append(grants, grant{role.String(), role.namespace, r})
		}
	}
	for _, g := range grants {
		for _, group := range g.rule.APIGroups {
			for _, res := range g.rule.Resources {
				for _, verb := range g.rule.Verbs {
					if !used(events, g, group, res, verb) && !slices.Contains(mayBeUnused, verb) {
						t.Errorf("%s grants %s %q %s (names %v) but the controller never used it", g.role, verb, group, res, g.rule.ResourceNames)
					}
				}
			}
		}
	}
	checkSecretsTLSOnly(t, events)
	t.Logf("requests of %s (audit log):\n%s", sa, summarize(events))
}

// checkSecretsTLSOnly: RBAC cannot narrow list and watch on Secrets to
// those of type kubernetes.io/tls, so the controller must narrow its own
// requests: every one of them on Secrets selects that type (the informer's
// alone, or with a name).
func checkSecretsTLSOnly(t *testing.T, events []auditEvent) {
	t.Helper()
	n := 0
	for _, e := range events {
		if e.ObjectRef == nil || e.ObjectRef.APIGroup != "" || e.resource() != "secrets" {
			continue
		}
		n++
		u, err := url.Parse(e.RequestURI)
		if err != nil {
			t.Errorf("audit log: request URI %q: %v", e.RequestURI, err)
			continue
		}
		raw := u.Query().Get("fieldSelector")
		sel, err := fields.ParseSelector(raw)
		if err != nil {
			t.Errorf("audit log: field selector %q: %v", raw, err)
			continue
		}
		if v, ok := sel.RequiresExactMatch("type"); !ok || v != string(corev1.SecretTypeTLS) {
			t.Errorf("the controller asked for Secrets with field selector %q, which does not require type=kubernetes.io/tls: %s", raw, e)
		}
	}
	if n == 0 {
		t.Error("the controller made no request on Secrets")
	}
}

func used(events []auditEvent, g grant, group, resource, verb string) bool {
	for _, e := range events {
		if e.ObjectRef == nil || e.Verb != verb || e.ObjectRef.APIGroup != group || e.resource() != resource {
			continue
		}
		// 404 too: authorization comes first, so the verb was allowed (the
		// first get of a Lease that does not exist yet).
		if c := e.code(); (c < 200 || c >= 300) && c != 404 {
			continue
		}
		if g.namespace != "" && e.ObjectRef.Namespace != g.namespace {
			continue
		}
		if len(g.rule.ResourceNames) > 0 && !slices.Contains(g.rule.ResourceNames, e.ObjectRef.Name) {
			continue
		}
		return true
	}
	return false
}

// summarize lists the distinct requests, for failure messages.
func summarize(events []auditEvent) string {
	seen := map[string]int{}
	for _, e := range events {
		ns, name := "", ""
		if e.ObjectRef != nil {
			ns, name = e.ObjectRef.Namespace, e.ObjectRef.Name
		}
		group := ""
		if e.ObjectRef != nil {
			group = e.ObjectRef.APIGroup
		}
		seen[fmt.Sprintf("%-6s %q %s ns=%q name=%q -> %d", e.Verb, group, e.resource(), ns, name, e.code())]++
	}
	var lines []string
	for l, n := range seen {
		lines = append(lines, fmt.Sprintf("  %s (x%d)", l, n))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
