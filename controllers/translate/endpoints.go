package translate

import (
	"slices"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// RefreshEndpoints is the translation of a change that touched only the
// EndpointSlices of the given Services: prev's configuration with the servers
// of the backends behind those Services looked up again in s. No Ingress is
// translated again, and every other backend, frontend and event is prev's
// own. s must differ from the snapshot behind prev only in EndpointSlices.
func RefreshEndpoints(prev Result, s *Snapshot, services map[types.NamespacedName]bool) Result {
	if prev.Config == nil || len(services) == 0 {
		return prev
	}
	t := &translator{snap: s, slices: s.SlicesByService}
	if t.slices == nil {
		t.slices = map[types.NamespacedName][]*discoveryv1.EndpointSlice{}
		for _, es := range s.EndpointSlices {
			if k, ok := SliceService(es); ok && services[k] {
				t.slices[k] = append(t.slices[k], es)
			}
		}
		for _, list := range t.slices {
			slices.SortFunc(list, compareSlices)
		}
	}
	cfg := *prev.Config
	cfg.Backends = slices.Clone(prev.Config.Backends)
	for i, b := range cfg.Backends {
		if i >= len(prev.sources) || prev.sources[i] == nil {
			continue
		}
		sp := *prev.sources[i]
		if !services[types.NamespacedName{Namespace: sp.namespace, Name: sp.service}] {
			continue
		}
		servers, _ := t.lookup(sp)
		nb := *b
		nb.Servers = slices.Clone(servers)
		if nb.Cookie != nil {
			setCookies(nb.Servers)
		}
		cfg.Backends[i] = &nb
	}
	out := prev
	out.Config = &cfg
	return out
}
