package controllers

import (
	"context"
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

	mu      sync.Mutex
	want    []types.NamespacedName
	written map[types.NamespacedName]bool
	kick    chan struct{}
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

// update records the Ingresses that are ours after a translation.
func (s *statusWriter) update(ings []types.NamespacedName) {
	s.mu.Lock()
	s.want = ings
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *statusWriter) Start(ctx context.Context) error {
	tick := time.NewTicker(statusResync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		case <-s.leader.changed:
		case <-tick.C:
		}
		if s.leader.isLeader() {
			s.sync(ctx)
		}
	}
}

func (s *statusWriter) sync(ctx context.Context) {
	addrs, err := s.addresses(ctx)
	if err != nil {
		s.log.Error(err, "reading the published address")
		return
	}
	s.mu.Lock()
	want := slices.Clone(s.want)
	s.mu.Unlock()
	keep := map[types.NamespacedName]bool{}
	for _, key := range want {
		keep[key] = true
		if err := s.set(ctx, key, addrs); err != nil {
			s.log.Error(err, "writing Ingress status", "ingress", key.String())
			continue
		}
		s.written[key] = true
	}
	// Ingresses that stopped being ours lose the address we gave them.
	for key := range s.written {
		if keep[key] {
			continue
		}
		if err := s.set(ctx, key, nil); err != nil && client.IgnoreNotFound(err) != nil {
			s.log.Error(err, "clearing Ingress status", "ingress", key.String())
			continue
		}
		delete(s.written, key)
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
	patched := ing.DeepCopy()
	patched.Status.LoadBalancer.Ingress = addrs
	return s.c.Status().Patch(ctx, patched, client.MergeFrom(&ing))
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
