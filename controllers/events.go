package controllers

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"sluice.dev/sluice/controllers/translate"
)

// eventEmitter records translation events as Kubernetes Events, once: an
// event that every translation reproduces (a bad annotation stays bad) is
// emitted when it first appears, and again only if it goes away and comes
// back.
type eventEmitter struct {
	rec    recorder.EventRecorder
	scheme *runtime.Scheme
	mu     sync.Mutex
	seen   map[translate.Event]bool
}

func newEventEmitter(rec recorder.EventRecorder, scheme *runtime.Scheme) *eventEmitter {
	return &eventEmitter{rec: rec, scheme: scheme, seen: map[translate.Event]bool{}}
}

func (e *eventEmitter) emit(_ context.Context, evs []translate.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := make(map[translate.Event]bool, len(evs))
	for _, ev := range evs {
		now[ev] = true
		if e.seen[ev] {
			continue
		}
		ref := &corev1.ObjectReference{
			Kind:      ev.Object.Kind,
			Namespace: ev.Object.Namespace,
			Name:      ev.Object.Name,
			UID:       ev.Object.UID,
		}
		switch ev.Object.Kind {
		case "Ingress":
			ref.APIVersion = "networking.k8s.io/v1"
		default:
			ref.APIVersion = "v1"
		}
		// The events API folds events of one object, type, reason and action
		// into one, whatever their notes say: an action per message keeps two
		// different problems of the same kind apart.
		e.rec.Eventf(ref, nil, ev.Type, ev.Reason, actionFor(ev.Message), "%s", ev.Message)
	}
	e.seen = now
}

// actionFor names the translation step an event is about, distinct per
// message (the events API requires a short machine-readable action).
func actionFor(msg string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(msg))
	return fmt.Sprintf("Translate-%08x", h.Sum32())
}
