package controllers

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// leaderElector holds a Lease so that one replica writes Ingress status.
// Unlike controller-runtime's built-in election it never ends the process:
// a replica that loses the Lease (the API server went away, say) keeps
// serving traffic and tries again.
type leaderElector struct {
	cfg     *rest.Config
	opts    Options
	m       *metrics
	log     logr.Logger
	leading atomic.Bool
	changed chan struct{}
}

func newLeaderElector(cfg *rest.Config, o Options, m *metrics, log logr.Logger) *leaderElector {
	return &leaderElector{cfg: cfg, opts: o, m: m, log: log.WithName("leader"), changed: make(chan struct{}, 1)}
}

func (l *leaderElector) isLeader() bool { return l.leading.Load() }

func (l *leaderElector) set(v bool) {
	l.leading.Store(v)
	if v {
		l.m.leader.Set(1)
	} else {
		l.m.leader.Set(0)
	}
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// NeedLeaderElection is false: this runnable is the election.
func (l *leaderElector) NeedLeaderElection() bool { return false }

// LeaseName is the Lease the replicas of one ingress class share.
func LeaseName(ingressClass string) string { return "sluice-" + ingressClass + "-leader" }

func (l *leaderElector) Start(ctx context.Context) error {
	if !l.opts.LeaderElect {
		l.set(true)
		<-ctx.Done()
		return nil
	}
	cs, err := kubernetes.NewForConfig(l.cfg)
	if err != nil {
		return fmt.Errorf("leader election client: %w", err)
	}
	id := l.opts.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = host + "_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	class := l.opts.Translate.IngressClass
	if class == "" {
		class = "sluice"
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: l.opts.LeaseNamespace, Name: LeaseName(class)},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   15 * time.Second,
			RenewDeadline:   10 * time.Second,
			RetryPeriod:     2 * time.Second,
			ReleaseOnCancel: true,
			Name:            LeaseName(class),
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					l.log.Info("acquired the Lease; writing Ingress status", "identity", id)
					l.set(true)
				},
				OnStoppedLeading: func() {
					l.log.Info("lost the Lease; status writes stop, traffic continues", "identity", id)
					l.set(false)
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}
