// Package ingest is the gateway's ingest pipeline: normalize, validate, check against the
// population register, key to a QR identity, store, and answer per item.
package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/registry"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway/store"
)

// Register checks declarations against the population register (adapters/registry).
type Register interface {
	Check(ctx context.Context, d canonical.Declaration) registry.Verdict
}

// Issuer issues the gateway's signed QR string for an identity. It must be safe for
// concurrent use: a batch's QRs are signed while the store writes it.
type Issuer interface {
	Issue(qrid string) (string, error)
}

// Observer is told the outcome of every item (for metrics and progress displays): the
// record's source, what the store made of it, and the reasons of a rejection. It must be cheap
// and safe for concurrent use.
type Observer func(src canonical.Source, r store.Result, reasons []canonical.Reason)

// Config wires a Pipeline.
type Config struct {
	Store    store.Writer
	Deriver  *identity.Deriver
	Register Register // nil: no register check
	Issuer   Issuer   // nil: results carry no signed QR
	Now      func() time.Time
	Observe  Observer // nil: nothing observed
	Logger   *slog.Logger
}

// Pipeline implements adapters.Sink for every path into the gateway (webhook, pull, gRPC).
type Pipeline struct {
	cfg Config
}

var _ adapters.Sink = (*Pipeline)(nil)

// New returns a pipeline; Store and Deriver are required.
func New(cfg Config) *Pipeline {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{cfg: cfg}
}

// Prepare normalizes, validates and keys one declaration, returning the store item. It does no
// store I/O; the register check (when configured) is the only call out.
func (p *Pipeline) Prepare(ctx context.Context, d canonical.Declaration, now time.Time) store.Item {
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = now
	}
	n := canonical.Normalize(d)
	vs := canonical.Validate(n, now)
	if len(vs) > 0 {
		return store.Item{Rejected: &store.Rejected{Declaration: n, Violations: vs}}
	}
	deriv, ok := p.cfg.Deriver.Derive(n.Person)
	if !ok {
		return store.Item{Rejected: &store.Rejected{Declaration: n, Violations: []canonical.Violation{{
			Field:   "person.phone",
			Reason:  canonical.ReasonRequired,
			Message: "no identity document: a phone number, name and birth year are needed to key the declaration",
		}}}}
	}
	verified := deriv.Verified
	if p.cfg.Register != nil && n.Person.Document.Type == canonical.DocumentCCCD {
		v := p.cfg.Register.Check(ctx, n)
		if len(v.Violations) > 0 {
			return store.Item{Rejected: &store.Rejected{Declaration: n, Violations: v.Violations}}
		}
		if v.Unverified {
			verified = false
		}
	}
	return store.Item{Accepted: &store.Accepted{
		Declaration: n,
		QRID:        deriv.QRID,
		Verified:    verified,
		Aliases:     deriv.Aliases,
	}}
}

// Ingest processes a batch: every item is prepared, the batch is written in one store call,
// and one result per item comes back in order, with the signed QR of each identity. An error
// means the batch was not committed.
func (p *Pipeline) Ingest(ctx context.Context, batch []canonical.Declaration) ([]adapters.Result, error) {
	return p.ingest(ctx, batch, p.cfg.Issuer)
}

// Unsigned returns a sink that answers without signed QR strings, for pull adapters whose
// results nobody shows a citizen (signing costs more than the rest of an item's path).
func (p *Pipeline) Unsigned() adapters.Sink { return unsigned{p} }

type unsigned struct{ p *Pipeline }

func (u unsigned) Ingest(ctx context.Context, batch []canonical.Declaration) ([]adapters.Result, error) {
	return u.p.ingest(ctx, batch, nil)
}

func (p *Pipeline) ingest(ctx context.Context, batch []canonical.Declaration, issuer Issuer) ([]adapters.Result, error) {
	return p.prepareBatch(ctx, batch, issuer).Store(ctx)
}

// Prepared is a batch prepared for the store (every item normalized, validated and keyed) and
// not yet written: a caller with batches in sequence prepares the next while the store writes
// this one.
type Prepared struct {
	p      *Pipeline
	issuer Issuer
	batch  []canonical.Declaration
	items  []store.Item
}

// PrepareBatch prepares a batch as Ingest does, without writing it; its Store answers without
// signed QR strings, as Unsigned's Ingest does.
func (p *Pipeline) PrepareBatch(ctx context.Context, batch []canonical.Declaration) *Prepared {
	return p.prepareBatch(ctx, batch, nil)
}

func (p *Pipeline) prepareBatch(ctx context.Context, batch []canonical.Declaration, issuer Issuer) *Prepared {
	now := p.cfg.Now().UTC()
	items := make([]store.Item, len(batch))
	for i, d := range batch {
		items[i] = p.Prepare(ctx, d, now)
	}
	return &Prepared{p: p, issuer: issuer, batch: batch, items: items}
}

// Store writes the prepared batch in one store call and returns one result per item, in
// order. An error means the batch was not committed.
func (b *Prepared) Store(ctx context.Context) ([]adapters.Result, error) {
	signed := b.presign()
	written, err := b.p.cfg.Store.WriteBatch(ctx, b.items)
	signed.wait()
	if err != nil {
		return nil, err
	}
	return b.answer(written, signed), nil
}

// presigned holds the signed QRs of a batch's accepted items, by the QR ids they were keyed
// to, signed on another goroutine while the store writes the batch: a signature costs more
// than the rest of an item's path, and the store's writer works alone, so a partner waiting
// for its answer (a Bluezone push) waits for the longer of the two instead of their sum.
type presigned struct {
	done chan struct{} // closed when every QR is signed
	qrs  []string      // by item; "" for a rejected item
	errs []error
}

// presign starts signing the batch's accepted items' QR ids; nil when the batch answers
// without signed QRs.
func (b *Prepared) presign() *presigned {
	if b.issuer == nil {
		return nil
	}
	ps := &presigned{done: make(chan struct{}), qrs: make([]string, len(b.items)), errs: make([]error, len(b.items))}
	go func() {
		defer close(ps.done)
		for i, it := range b.items {
			if it.Accepted != nil {
				ps.qrs[i], ps.errs[i] = b.issuer.Issue(it.Accepted.QRID)
			}
		}
	}()
	return ps
}

// wait returns once every QR is signed.
func (ps *presigned) wait() {
	if ps != nil {
		<-ps.done
	}
}

// issue returns the signed QR of item i filed under qrid: the one signed beforehand when the
// store filed the item under the QR id it was keyed to (it may file it under the identity
// that id is now an alias of), otherwise a new one.
func (b *Prepared) issue(ps *presigned, i int, qrid string) (string, error) {
	if a := b.items[i].Accepted; ps != nil && a != nil && a.QRID == qrid {
		return ps.qrs[i], ps.errs[i]
	}
	return b.issuer.Issue(qrid)
}

// StoreInOrder writes prepared batches of one pipeline as if one after the other, in one
// store call (one commit for them all), and returns each batch's results. When that call
// fails they are written one at a time, so that each batch's outcome is its own: it returns
// the results of the batches before the first that fails, and that batch's error.
func StoreInOrder(ctx context.Context, bs []*Prepared) ([][]adapters.Result, error) {
	if len(bs) > 1 {
		var items []store.Item
		for _, b := range bs {
			items = append(items, b.items...)
		}
		if written, err := bs[0].p.cfg.Store.WriteBatch(ctx, items); err == nil {
			out := make([][]adapters.Result, len(bs))
			for i, b := range bs {
				out[i], written = b.answer(written[:len(b.items)], nil), written[len(b.items):]
			}
			return out, nil
		}
	}
	var out [][]adapters.Result
	for _, b := range bs {
		results, err := b.Store(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, results)
	}
	return out, nil
}

// answer turns the store's results for the batch's items into the partner's, signing QRs
// and telling the observer.
func (b *Prepared) answer(written []store.Result, signed *presigned) []adapters.Result {
	p, items := b.p, b.items
	results := make([]adapters.Result, len(items))
	for i, it := range items {
		r := written[i]
		res := adapters.Result{Outcome: r.Outcome.String(), QRID: r.QRID}
		var reasons []canonical.Reason
		if it.Rejected != nil {
			// A rejected record sent again is a store duplicate, but the partner is answered
			// "rejected" with the violations again: a retry after a lost answer must still say
			// what is wrong (the contract gives violations to rejected items only). The
			// observer gets the store's outcome, so a retry is not counted twice.
			res.Outcome = store.OutcomeRejected.String()
			res.Violations = it.Rejected.Violations
			for _, v := range it.Rejected.Violations {
				reasons = append(reasons, v.Reason)
			}
		}
		if r.QRID != "" && b.issuer != nil {
			if s, err := b.issue(signed, i, r.QRID); err == nil {
				res.SignedQR = s
			} else {
				p.cfg.Logger.Warn("signed QR not issued", "qr_id", r.QRID, "err", err)
			}
		}
		if p.cfg.Observe != nil {
			p.cfg.Observe(b.batch[i].Source, r, reasons)
		}
		results[i] = res
	}
	return results
}
