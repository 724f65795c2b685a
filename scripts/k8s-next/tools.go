//go:build tools

// Package tools pins the second, newer kubelet minor of the test matrix (test/e2e: the same
// scenario on both kubelets; only the kubelet is built for this release).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
)
