//go:build tools

// Package tools pins k8s.io/kubernetes/cmd/kube-apiserver so that this
// module's go.sum covers everything build.sh needs to compile it.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
