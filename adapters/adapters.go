// Package adapters holds what every partner adapter shares: the sink a decoded batch is
// handed to, the per-item result it gets back, and the source a pull runner reads from.
//
// Each platform's adapter lives in its own folder (bluezone, ncovi, tokhaiyte) with the same
// files: config.go, adapter.go, translate.go.
package adapters

import (
	"context"

	"github.com/lienthong/lienthong/canonical"
)

// Result is the gateway's answer for one declaration of a batch, in the batch's order.
type Result struct {
	Outcome    string                // "accepted", "duplicate" or "rejected"
	QRID       string                // the identity's QR id (accepted and duplicate)
	SignedQR   string                // the gateway's signed QR string for that identity, if issued
	Violations []canonical.Violation // why it was rejected
}

// Sink takes decoded declarations into the gateway: normalize, validate, key to an identity,
// store. It is implemented by the gateway's ingest pipeline.
type Sink interface {
	// Ingest processes the batch and returns one result per declaration, in order. An error
	// means the batch as a whole was not committed (for example the store is unavailable) and
	// must be retried; its kind (canonical/errs) says whether retrying can help.
	Ingest(ctx context.Context, batch []canonical.Declaration) ([]Result, error)
}

// Page is one fetch from a pull partner.
type Page struct {
	Declarations []canonical.Declaration // decoded; a record that failed to decode carries Problems
	Next         string                  // the cursor to store once this page is committed
	More         bool                    // the partner has more right now; fetch again without waiting
}

// Source is a partner the gateway pulls from (NCOVI by cursor, tokhaiyte by time window).
type Source interface {
	// Name is the partner's platform name, used for its cursor, lease, breaker and metrics.
	Name() canonical.Platform
	// Fetch returns the page after cursor ("" for the beginning). Errors carry a kind:
	// errs.Transient for the partner's unavailability (time-out, 5xx, 429, connection), which
	// counts against its circuit breaker; anything else does not.
	Fetch(ctx context.Context, cursor string) (Page, error)
}
