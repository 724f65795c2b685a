//go:build tools

// Package tools pins the third, older kubelet minor of the test matrix (test/e2e/fleet.test.ts:
// a node on the previous minor, which has no service-account tokens for providers; only the
// kubelet is built for this release).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
)
