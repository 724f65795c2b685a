//go:build tools

// Package tools pins the Helm release the test environment builds (test/ship/helm*.test.ts).
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
