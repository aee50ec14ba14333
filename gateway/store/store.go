// Package store defines what the gateway keeps, the interfaces its stores implement, and the
// pure merge of a declaration into an identity's view that every store shares.
//
// Implementations: boltstore (embedded, the default) and redisstore (one server, Sentinel or
// Cluster). Both pass the conformance suite in storetest.
package store

import (
	"context"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// Outcome is what happened to one item of a batch.
type Outcome int8

// Outcomes of a write.
const (
	OutcomeAccepted  Outcome = iota + 1 // stored for the first time
	OutcomeDuplicate                    // this (platform, record id, version) was already stored; nothing changed
	OutcomeRejected                     // stored as rejected, with its violations
)

// String names the outcome as partners see it.
func (o Outcome) String() string {
	switch o {
	case OutcomeAccepted:
		return "accepted"
	case OutcomeDuplicate:
		return "duplicate"
	case OutcomeRejected:
		return "rejected"
	}
	return "unknown"
}

// Accepted is a normalized, valid declaration keyed to the identity it is about.
type Accepted struct {
	Declaration canonical.Declaration
	QRID        string   // the identity's QR id
	Verified    bool     // the identity key is a document (not the weak phone+name+year key)
	Aliases     []string // weaker QR ids this identity absorbs (its weak key, a linked CMND)
}

// Rejected is a declaration that broke rules, kept for the audit.
type Rejected struct {
	Declaration canonical.Declaration
	Violations  []canonical.Violation
}

// Item is one element of a batch: exactly one of Accepted and Rejected is set.
type Item struct {
	Accepted *Accepted
	Rejected *Rejected
}

// Key returns the deduplication key of the item's source record version.
func (it Item) Key() RecordKey {
	d := it.declaration()
	return RecordKey{Platform: d.Source.Platform, RecordID: d.Source.RecordID, Version: d.Source.Version}
}

func (it Item) declaration() *canonical.Declaration {
	if it.Accepted != nil {
		return &it.Accepted.Declaration
	}
	return &it.Rejected.Declaration
}

// RecordKey identifies one version of one platform's record; writes are deduplicated by it.
type RecordKey struct {
	Platform canonical.Platform
	RecordID string
	Version  string
}

// Result is the outcome of one item, in the order of the batch.
type Result struct {
	Outcome Outcome
	QRID    string // the identity (after aliasing) for accepted and duplicate items; empty for rejected
}

// Writer stores batches of declarations.
type Writer interface {
	// WriteBatch stores items atomically per identity and idempotently per RecordKey, and
	// returns one result per item in order. An error means nothing is known about the batch
	// (the caller retries it whole; idempotence makes that safe).
	WriteBatch(ctx context.Context, items []Item) ([]Result, error)
}

// Viewer reads the precomputed view of one identity in one read.
type Viewer interface {
	// View returns the view of qrid, following an alias to its strong identity.
	// An unknown qrid is an errs.NotFound error.
	View(ctx context.Context, qrid string) (View, error)
}

// SourceRef names a person the way a partner platform knows them: by the platform's id of one
// of their declarations (RecordID) or of the person or account (SubjectID). Exactly one of the
// two is set.
type SourceRef struct {
	Platform  canonical.Platform
	RecordID  string
	SubjectID string
}

// Finder finds the identity a platform's record or subject is filed under.
type Finder interface {
	// IdentityOf returns the QR id of the identity ref is filed under, following aliases (a
	// weak identity absorbed by a strong one answers the strong one). Only accepted
	// declarations are indexed; an unknown or purged ref is an errs.NotFound error.
	//
	// A record id answers the identity of its newest stored version (redisstore: of its
	// version written last; they differ only when an older version filed under another
	// identity arrives after a newer one). A subject id may have
	// declared for several people (a family account): it answers the identity of the
	// subject's most recent declaration by declared time (ties: the greater source version,
	// then record id, in boltstore; the one written last in redisstore).
	IdentityOf(ctx context.Context, ref SourceRef) (string, error)
}

// Cursors keeps each pull adapter's position, fenced by its lease.
type Cursors interface {
	// Cursor returns the stored cursor of partner, or "" when none was stored.
	Cursor(ctx context.Context, partner string) (string, error)
	// SaveCursor stores partner's cursor if fence is the current token of the lease of the same
	// name; a stale fence is an errs.Conflict error and stores nothing.
	SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error
}

// Leases lets exactly one replica at a time run a pull adapter.
type Leases interface {
	// AcquireLease takes or renews the lease name for holder until now+ttl. It returns the
	// fencing token (strictly greater than any earlier holder's) and whether holder has it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error)
	// ReleaseLease gives the lease up if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Lease is a held lease.
type Lease struct {
	Name    string
	Holder  string
	Token   uint64 // fencing token: increases each time the lease changes holder
	Expires time.Time
}

// Auditor answers the ministries' questions.
type Auditor interface {
	// History returns every stored version of every declaration of qrid (after aliasing),
	// oldest first by declared time.
	History(ctx context.Context, qrid string) ([]canonical.Declaration, error)
	// Inconsistencies returns identities whose platforms disagree, filtered and paged.
	Inconsistencies(ctx context.Context, q InconsistencyQuery) ([]View, string, error)
	// Rejections returns rejected declarations, newest first, paged.
	Rejections(ctx context.Context, q RejectionQuery) ([]Rejected, string, error)
	// Counts returns the counters matching q.
	Counts(ctx context.Context, q CountQuery) ([]Count, error)
	// AppendAccess records accesses (lookups, history reads); a busy gateway passes many at
	// once. On an error some of them may not be recorded.
	AppendAccess(ctx context.Context, as ...Access) error
	// AccessLog returns accesses, newest first, paged.
	AccessLog(ctx context.Context, q AccessQuery) ([]Access, string, error)
}

// Passages records people passing stations.
type Passages interface {
	// RecordPassage stores p once: a second call with the same p.ID changes nothing and
	// reports duplicate=true.
	RecordPassage(ctx context.Context, p Passage) (duplicate bool, err error)
}

// Retention purges old data.
type Retention interface {
	// Purge deletes declaration versions and rejections declared before cutoff, rebuilding
	// the affected views; counters are kept. It returns how many records it deleted.
	Purge(ctx context.Context, cutoff time.Time) (int, error)
}

// Store is everything a gateway needs from its store.
type Store interface {
	Writer
	Viewer
	Finder
	Cursors
	Leases
	Auditor
	Passages
	Retention
	// Ping reports whether the store can serve (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store; it is safe to call twice.
	Close() error
}
