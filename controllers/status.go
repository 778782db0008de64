package controllers

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// statusWriter keeps status.loadBalancer.ingress of our Ingresses equal to
// the published address. It runs on every replica but writes only while the
// replica leads, and only when the status differs.
type statusWriter struct {
	c      client.Client
	api    client.Reader // uncached, for the published Service
	opts   Options
	leader *leaderElector
	log    logr.Logger

	mu   sync.Mutex
	want []types.NamespacedName
	// changed are the Ingresses that became ours or stopped being ours
	// since the last sync: after a translation, only they need a look.
	changed []types.NamespacedName
	written map[types.NamespacedName]bool
	// addrs is what the last full pass wrote; other addresses call for
	// another full pass.
	addrs []networkingv1.IngressLoadBalancerIngress
	kick  chan struct{}
}

// statusResync re-reads the published Service now and then, since its
// addresses change without any Ingress changing.
const statusResync = 30 * time.Second

func newStatusWriter(c client.Client, api client.Reader, o Options, l *leaderElector, log logr.Logger) *statusWriter {
	return &statusWriter{c: c, api: api, opts: o, leader: l, log: log.WithName("status"),
		written: map[types.NamespacedName]bool{}, kick: make(chan struct{}, 1)}
}

// NeedLeaderElection is false: the writer checks the Lease itself, since the
// manager's election is off.
func (s *statusWriter) NeedLeaderElection() bool { return false }

// update records the Ingresses that are ours after a translation, sorted.
// A translation that leaves the set as it was costs one look at the
// published address (a translation may follow a change of the published
// Service).
func (s *statusWriter) update(ings []types.NamespacedName) {
	s.mu.Lock()
	s.changed = appendDifference(s.changed, s.want, ings)
	s.want = ings
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// appendDifference appends to dst the keys in exactly one of the sorted
// lists a and b.
func appendDifference(dst, a, b []types.NamespacedName) []types.NamespacedName {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && lessName(a[i], b[j])):
			dst = append(dst, a[i])
			i++
		case i == len(a) || lessName(b[j], a[i]):
			dst = append(dst, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return dst
}

func lessName(a, b types.NamespacedName) bool {
	return a.Namespace < b.Namespace || (a.Namespace == b.Namespace && a.Name < b.Name)
}

func (s *statusWriter) Start(ctx context.Context) error {
	tick := time.NewTicker(statusResync)
	defer tick.Stop()
	for {
		all := true
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			all = false
		case <-s.leader.changed:
		case <-tick.C:
		}
		if s.leader.isLeader() {
			s.sync(ctx, all)
		}
	}
}

// sync writes the status of every Ingress that needs it. Unless all is
// set, only those whose membership changed since the last sync are looked
// at; a full pass (leadership gained, the periodic resync) catches the rest,
// such as a status someone else overwrote.
func (s *statusWriter) sync(ctx context.Context, all bool) {
	addrs, err := s.addresses(ctx)
	if err != nil {
		s.log.Error(err, "reading the published address")
		return
	}
	s.mu.Lock()
	want, changed := slices.Clone(s.want), s.changed
	s.changed = nil
	s.mu.Unlock()
	if !all && slices.EqualFunc(addrs, s.addrs, sameLBIngress) {
		s.syncChanged(ctx, want, changed, addrs)
		return
	}
	s.addrs = addrs
	keep := map[types.NamespacedName]bool{}
	for _, key := range want {
		keep[key] = true
		if err := s.set(ctx, key, addrs); err != nil {
			s.log.Error(err, "writing Ingress status", "ingress", key.String())
			s.retry(key)
			continue
		}
		s.written[key] = true
	}
	// Ingresses that stopped being ours lose the address we gave them.
	for key := range s.written {
		if keep[key] {
			continue
		}
		s.clear(ctx, key)
	}
}

func (s *statusWriter) set(ctx context.Context, key types.NamespacedName, addrs []networkingv1.IngressLoadBalancerIngress) error {
	var ing networkingv1.Ingress
	if err := s.c.Get(ctx, key, &ing); err != nil {
		return client.IgnoreNotFound(err)
	}
	if slices.EqualFunc(ing.Status.LoadBalancer.Ingress, addrs, sameLBIngress) {
		return nil
	}
	// A merge patch of the one field, built directly: diffing the whole
	// object against a modified copy (client.MergeFrom) marshals both, and
	// at thousands of new Ingresses that was most of the controller's CPU.
	patch, err := json.Marshal(lbStatusPatch{Status: lbStatus{LoadBalancer: lbBalancer{Ingress: addrs}}})
	if err != nil {
		return err
	}
	return s.c.Status().Patch(ctx, &ing, client.RawPatch(types.MergePatchType, patch))
}

// lbStatusPatch is the JSON merge patch that sets status.loadBalancer.ingress
// (null, which removes it, when there are no addresses).
type lbStatusPatch struct {
	Status lbStatus `json:"status"`
}

type lbStatus struct {
	LoadBalancer lbBalancer `json:"loadBalancer"`
}

type lbBalancer struct {
	Ingress []networkingv1.IngressLoadBalancerIngress `json:"ingress"`
}

func sameLBIngress(a, b networkingv1.IngressLoadBalancerIngress) bool {
	return a.IP == b.IP && a.Hostname == b.Hostname
}

// addresses is what Ingress status says: --publish-status-address, or the
// published Service's load-balancer addresses, external IPs or cluster IP.
func (s *statusWriter) addresses(ctx context.Context) ([]networkingv1.IngressLoadBalancerIngress, error) {
	if a := s.opts.PublishStatusAddress; a != "" {
		var out []networkingv1.IngressLoadBalancerIngress
		for _, part := range strings.Split(a, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, lbIngress(part))
			}
		}
		return out, nil
	}
	if s.opts.PublishService.Name == "" {
		return nil, nil
	}
	var svc corev1.Service
	if err := s.api.Get(ctx, s.opts.PublishService, &svc); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	var out []networkingv1.IngressLoadBalancerIngress
	for _, lb := range svc.Status.LoadBalancer.Ingress {
		out = append(out, networkingv1.IngressLoadBalancerIngress{IP: lb.IP, Hostname: lb.Hostname})
	}
	if len(out) == 0 {
		for _, ip := range svc.Spec.ExternalIPs {
			out = append(out, lbIngress(ip))
		}
	}
	if len(out) == 0 && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		out = append(out, lbIngress(svc.Spec.ClusterIP))
	}
	return out, nil
}

func lbIngress(a string) networkingv1.IngressLoadBalancerIngress {
	if _, err := netip.ParseAddr(a); err == nil {
		return networkingv1.IngressLoadBalancerIngress{IP: a}
	}
	return networkingv1.IngressLoadBalancerIngress{Hostname: a}
}

// syncChanged is sync for the keys in changed only.
func (s *statusWriter) syncChanged(ctx context.Context, want, changed []types.NamespacedName, addrs []networkingv1.IngressLoadBalancerIngress) {
	for _, key := range changed {
		_, ours := slices.BinarySearchFunc(want, key, compareName)
		if ours {
			if err := s.set(ctx, key, addrs); err != nil {
				s.log.Error(err, "writing Ingress status", "ingress", key.String())
				s.retry(key)
				continue
			}
			s.written[key] = true
			continue
		}
		if !s.written[key] {
			continue
		}
		s.clear(ctx, key)
	}
}

// retry keeps key for the next sync.
// clear removes the address we gave an Ingress that is no longer ours; a
// failure is retried later.
func (s *statusWriter) clear(ctx context.Context, key types.NamespacedName) {
	if err := s.set(ctx, key, nil); err != nil && client.IgnoreNotFound(err) != nil {
		s.log.Error(err, "clearing Ingress status", "ingress", key.String())
		s.retry(key)
		return
	}
	delete(s.written, key)
}

func (s *statusWriter) retry(key types.NamespacedName) {
	s.mu.Lock()
	s.changed = append(s.changed, key)
	s.mu.Unlock()
}

func compareName(a, b types.NamespacedName) int {
	switch {
	case lessName(a, b):
		return -1
	case lessName(b, a):
		return 1
	}
	return 0
}
