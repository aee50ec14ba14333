// Package storetest is the conformance suite every store implementation passes.
package storetest

import (
	"testing"

	"github.com/lienthong/lienthong/gateway/store"
)

// Open opens a fresh, empty store for one test; the suite closes it.
type Open func(t *testing.T) store.Store

// Run runs the whole conformance suite against the stores open returns.
func Run(t *testing.T, open Open) {
	t.Helper()
	// TODO(issue 4): being written.
}
