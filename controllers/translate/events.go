package translate

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event reasons. They are part of the controller's interface: users filter
// `kubectl get events` on them.
const (
	ReasonInvalidAnnotation = "InvalidAnnotation"
	ReasonUnknownAnnotation = "UnknownAnnotation"
	// ReasonUnsupportedAnnotation: an nginx.ingress.kubernetes.io/ annotation
	// without a sluice counterpart.
	ReasonUnsupportedAnnotation = "UnsupportedAnnotation"
	ReasonUnusedAnnotation      = "UnusedAnnotation"
	ReasonInvalidHost           = "InvalidHost"
	ReasonInvalidPath           = "InvalidPath"
	ReasonInvalidBackend        = "InvalidBackend"
	ReasonPathConflict          = "PathConflict"
	ReasonDefaultBackendClash   = "DefaultBackendConflict"
	ReasonServiceNotFound       = "ServiceNotFound"
	ReasonServicePortNotFound   = "ServicePortNotFound"
	ReasonTLSDisabled           = "TLSDisabled"
	ReasonTLSSecretNotFound     = "TLSSecretNotFound"
	ReasonInvalidTLSSecret      = "InvalidTLSSecret"
	ReasonTLSHostMismatch       = "TLSHostMismatch"
	ReasonInvalidTCPService     = "InvalidTCPService"
	ReasonProxyProtocol         = "ProxyProtocolNotSupported"
	ReasonPortConflict          = "PortConflict"
)

// eventLog collects events, dropping exact repeats (a missing Service named
// by ten paths of one Ingress is one event, not ten).
type eventLog struct {
	list []Event
	seen map[Event]bool
}

func (l *eventLog) warn(obj ObjectRef, reason, format string, args ...any) {
	l.add(newWarning(obj, reason, format, args...))
}

// warnAnnotation reports a problem with the annotation key.
func (l *eventLog) warnAnnotation(obj ObjectRef, key, reason, format string, args ...any) {
	e := newWarning(obj, reason, format, args...)
	e.Annotation = key
	l.add(e)
}

func newWarning(obj ObjectRef, reason, format string, args ...any) Event {
	return Event{Object: obj, Type: EventWarning, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func (l *eventLog) add(e Event) {
	if l.seen == nil {
		l.seen = map[Event]bool{}
	}
	if l.seen[e] {
		return
	}
	l.seen[e] = true
	l.list = append(l.list, e)
}

// sorted returns the events grouped by object; within an object they keep
// the order in which they were found, which follows the object's own layout.
func (l *eventLog) sorted() []Event {
	out := slices.Clone(l.list)
	slices.SortStableFunc(out, func(a, b Event) int {
		return cmp.Or(
			cmp.Compare(a.Object.Kind, b.Object.Kind),
			cmp.Compare(a.Object.Namespace, b.Object.Namespace),
			cmp.Compare(a.Object.Name, b.Object.Name),
		)
	})
	return out
}

func refOf(kind string, m v1.Object) ObjectRef {
	return ObjectRef{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName(), UID: m.GetUID()}
}
