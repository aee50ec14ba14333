package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// version is one stored declaration version and the identity it belongs to now.
type version struct {
	QRID        string
	Verified    bool
	Declaration canonical.Declaration
}

// WriteBatch stores the batch in one write transaction: atomic, and durable once it returns.
// Concurrent callers' batches are coalesced into one commit (see group); each batch's
// results are still its own.
func (s *Store) WriteBatch(ctx context.Context, items []store.Item) ([]store.Result, error) {
	const op = "boltstore.WriteBatch"
	for i, it := range items {
		if err := it.Check(); err != nil {
			return nil, errs.Errorf(errs.Invalid, op, "items[%d]: %w", i, err)
		}
	}
	if len(items) == 0 {
		return []store.Result{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, errs.E(errs.Transient, op, err)
	}
	// What no stored data decides is made here, outside the single writer.
	preps := make([]prepared, len(items))
	for i, it := range items {
		preps[i] = prepare(it)
	}
	var results []store.Result
	fn := func(tx *bolt.Tx) error {
		// fn runs again (alone) when a coalesced batch fails: start afresh.
		w := newWriteTx(tx)
		w.views, w.index = s.views, s.subjects
		results = make([]store.Result, len(items))
		for i, it := range items {
			r, err := w.item(it, &preps[i])
			if err != nil {
				return errs.Errorf(errs.KindOf(err), op, "items[%d]: %w", i, err)
			}
			results[i] = r
		}
		return w.flush()
	}
	if err := classify(op, s.commit(len(items), fn)); err != nil {
		return nil, err
	}
	return results, nil
}

// writeTx is one write transaction with its views cached until flush.
type writeTx struct {
	tx                                     *bolt.Tx
	versions, ids, versionsByHour          *bolt.Bucket
	aliases                                *bolt.Bucket
	rejections, rejectionsByTime, counters *bolt.Bucket
	cache                                  map[string]*cachedView
	order                                  []string
	counts                                 map[string]int64  // store.CellKey → increment
	subjects                               [][]byte          // subject keys, noted in the index on commit
	index                                  *subjectIndex     // the store's
	newAliases                             map[string]string // weak → strong QR id, put by flush
	views                                  *viewCache        // the store's, nil when it keeps none
}

type cachedView struct {
	v       store.View
	orig    store.View // as stored before this transaction
	exists  bool       // stored before or created in this transaction
	dirty   bool
	deleted bool
	history [][]byte // history keys of this transaction, put by flush
	aliasOf []string // weak QR ids this transaction filed under the identity, put by flush
}

// appendFill is how full bbolt leaves the pages it splits in buckets written mostly in key
// order (its default, 0.5, suits random keys).
const appendFill = 0.95

func newWriteTx(tx *bolt.Tx) *writeTx {
	w := &writeTx{
		tx: tx, versions: tx.Bucket(bucketVersions), ids: tx.Bucket(bucketIdentities),
		versionsByHour: tx.Bucket(bucketVersionsByHour), aliases: tx.Bucket(bucketAliases),
		rejections:       tx.Bucket(bucketRejections),
		rejectionsByTime: tx.Bucket(bucketRejectionsByTime), counters: tx.Bucket(bucketCounters),
		cache: map[string]*cachedView{}, counts: map[string]int64{}, newAliases: map[string]string{},
	}
	// Their keys mostly arrive in order (record ids and declared times grow), so full
	// pages are not split again: they hold twice what bbolt's default fill leaves.
	w.versions.FillPercent, w.versionsByHour.FillPercent = appendFill, appendFill
	w.rejections.FillPercent, w.rejectionsByTime.FillPercent = appendFill, appendFill
	return w
}

// prepared is what an item's writes need that no stored data decides: its keys, its
// encoded version (for its own QR id; remade when that is an alias) and its counter cells.
type prepared struct {
	rec              []byte
	version, history []byte // accepted only
	subject, hour    []byte // accepted only; subject nil without a subject id
	declared         []byte // accepted only: the declared time, versionsByHour's value
	cells            []string
	counts           []int64 // cells[i]'s increment
}

func prepare(it store.Item) prepared {
	p := prepared{rec: recordKey(it.Key())}
	for _, c := range store.CountsOf(it) {
		p.cells = append(p.cells, store.CellKey(c))
		p.counts = append(p.counts, c.N)
	}
	if a := it.Accepted; a != nil {
		d := &a.Declaration
		p.version = encodeVersion(version{QRID: a.QRID, Verified: a.Verified, Declaration: *d})
		p.history = historyKey(a.QRID, d, p.rec)
		if d.Source.SubjectID != "" {
			p.subject = subjectKey(d)
		}
		p.hour = hourKey(d.DeclaredAt, p.rec)
		p.declared = appendTime(nil, d.DeclaredAt)
	}
	return p
}

func (w *writeTx) item(it store.Item, p *prepared) (store.Result, error) {
	if old := w.versions.Get(p.rec); old != nil {
		if it.Rejected != nil {
			return store.Result{Outcome: store.OutcomeDuplicate}, nil
		}
		qrid, err := versionQRID(old)
		if err != nil {
			return store.Result{}, err
		}
		return store.Result{Outcome: store.OutcomeDuplicate, QRID: w.resolve(qrid)}, nil
	}
	if it.Rejected != nil {
		return w.reject(p, it)
	}
	a := *it.Accepted
	target := w.resolve(a.QRID)
	for _, weak := range a.Aliases {
		if err := w.absorb(weak, target); err != nil {
			return store.Result{}, err
		}
	}
	ver, hist := p.version, p.history
	if target != a.QRID {
		ver = encodeVersion(version{QRID: target, Verified: a.Verified, Declaration: a.Declaration})
		hist = historyKey(target, &a.Declaration, p.rec)
	}
	if err := w.putVersion(p, ver); err != nil {
		return store.Result{}, err
	}
	a.QRID = target
	if err := w.apply(a, hist); err != nil {
		return store.Result{}, err
	}
	w.count(p)
	return store.Result{Outcome: store.OutcomeAccepted, QRID: target}, nil
}

// reject files a rejection once; a record already stored as accepted was caught above.
func (w *writeTx) reject(p *prepared, it store.Item) (store.Result, error) {
	rec := p.rec
	if w.rejections.Get(rec) != nil {
		return store.Result{Outcome: store.OutcomeDuplicate}, nil
	}
	b, err := json.Marshal(it.Rejected)
	if err != nil {
		return store.Result{}, err
	}
	if err := w.rejections.Put(rec, b); err != nil {
		return store.Result{}, err
	}
	if err := w.rejectionsByTime.Put(timedKey(store.RejectedAt(it.Rejected.Declaration), rec), nil); err != nil {
		return store.Result{}, err
	}
	w.count(p)
	return store.Result{Outcome: store.OutcomeRejected}, nil
}

// count adds the item's counts to the transaction's, which flush stores.
func (w *writeTx) count(p *prepared) {
	for i, k := range p.cells {
		w.counts[k] += p.counts[i]
	}
}

func addCount(b *bolt.Bucket, c store.Count) error {
	return addCell(b, []byte(store.CellKey(c)), c.N)
}

// addCell adds n to the counter cell k.
func addCell(b *bolt.Bucket, k []byte, n int64) error {
	if old := b.Get(k); len(old) == 8 {
		n += int64(binary.BigEndian.Uint64(old))
	}
	return b.Put(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// resolve follows an alias to its identity (aliases always point at an identity itself).
func (w *writeTx) resolve(qrid string) string {
	if target, ok := w.aliasOf(qrid); ok {
		return target
	}
	return qrid
}

// aliasOf returns the identity qrid is an alias of, if it is one: from this transaction's
// own aliases or the view cache when it can tell, else from the file.
func (w *writeTx) aliasOf(qrid string) (string, bool) {
	if target, ok := w.newAliases[qrid]; ok {
		return target, true
	}
	if target, ok := w.views.pendingAlias(w.tx, qrid); ok {
		return target, true
	}
	if target, ok, known := w.views.alias(qrid); known {
		return target, ok
	}
	if s := w.aliases.Get([]byte(qrid)); s != nil {
		return string(s), true
	}
	return "", false
}

// putVersion stores an accepted item's version (ver, encoded) and its index entries but its
// history entry (apply's).
func (w *writeTx) putVersion(p *prepared, ver []byte) error {
	if err := w.versions.Put(p.rec, ver); err != nil {
		return err
	}
	if p.subject != nil {
		w.subjects = append(w.subjects, p.subject)
	}
	return w.versionsByHour.Put(p.hour, p.declared)
}

// absorb makes the weak identity an alias of target (an identity, not an alias). A weak id
// that is already an alias stays where it is: the first strong identity to claim it keeps it.
// The aliases it makes are put by flush, in key order with the identity's other entries.
func (w *writeTx) absorb(weak, target string) error {
	if weak == "" || weak == target {
		return nil
	}
	if _, ok := w.aliasOf(weak); ok {
		return nil
	}
	cv, err := w.view(weak)
	if err != nil {
		return err
	}
	to, err := w.view(target)
	if err != nil {
		return err
	}
	w.newAliases[weak] = target
	to.aliasOf = append(to.aliasOf, weak)
	// Aliases of the weak identity, stored and of this transaction, now point at target.
	prefix := tagged(weak, tagAliasOf, 0)
	var repoint [][]byte
	c := w.ids.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		repoint = append(repoint, clone(k))
	}
	for _, k := range repoint {
		if err := w.ids.Delete(k); err != nil {
			return err
		}
		x := string(k[len(prefix):])
		w.newAliases[x] = target
		to.aliasOf = append(to.aliasOf, x)
	}
	for _, x := range cv.aliasOf {
		w.newAliases[x] = target
		to.aliasOf = append(to.aliasOf, x)
	}
	cv.aliasOf = nil
	// The weak identity's versions, stored and of this transaction, move to target (under
	// history keys of this build's form) and are merged into its view.
	type moved struct {
		key, rec []byte
		stored   bool
	}
	var ms []moved
	prefix = tagged(weak, tagHistory, 0)
	c = w.ids.Cursor()
	for k, v := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
		rec := historyRecord(prefix, k, v)
		if rec == nil {
			return fmt.Errorf("history entry %q of %s has no record key", k, weak)
		}
		ms = append(ms, moved{clone(k), clone(rec), true})
	}
	for _, k := range cv.history {
		ms = append(ms, moved{k, historyRecord(prefix, k, nil), false})
	}
	cv.history = nil
	for _, m := range ms {
		var v version
		if err := decodeVersion(w.versions.Get(m.rec), &v); err != nil {
			return err
		}
		v.QRID = target
		if err := w.versions.Put(m.rec, encodeVersion(v)); err != nil {
			return err
		}
		if m.stored {
			if err := w.ids.Delete(m.key); err != nil {
				return err
			}
		}
		a := store.Accepted{Declaration: v.Declaration, QRID: target, Verified: v.Verified}
		if err := w.apply(a, historyKey(target, &v.Declaration, m.rec)); err != nil {
			return err
		}
	}
	if cv.exists {
		cv.deleted, cv.dirty = true, true
	}
	return nil
}

// view returns the cached view of qrid, loading it on first use: from the view cache when
// it can tell, which spares the writer a walk down the identities bucket for each identity
// (most of them new, so the walk finds nothing).
func (w *writeTx) view(qrid string) (*cachedView, error) {
	if cv, ok := w.cache[qrid]; ok {
		return cv, nil
	}
	cv := &cachedView{}
	b, known := w.views.stored(w.tx, qrid)
	if !known {
		b = w.ids.Get([]byte(qrid))
	}
	if b != nil {
		if err := decodeView(b, &cv.v); err != nil {
			return nil, err
		}
		cv.orig, cv.exists = cv.v, true
	}
	w.cache[qrid] = cv
	w.order = append(w.order, qrid)
	return cv, nil
}

// apply merges a version into the cached view of its identity and files its history key
// (written by flush).
func (w *writeTx) apply(a store.Accepted, history []byte) error {
	cv, err := w.view(a.QRID)
	if err != nil {
		return err
	}
	cv.history = append(cv.history, history)
	if v, changed := store.Apply(cv.v, a); changed {
		cv.v, cv.exists, cv.dirty, cv.deleted = v, true, true, false
	}
	return nil
}

// flush writes the aliases, the changed views with their inconsistency index entries, alias
// lists and history entries, and the counts, and has the subject index note the
// declarations' subjects when the transaction commits. The entries and views go in key
// order: their keys are random, and in order each put finds the pages of the one before it
// in the CPU's caches (an identity's view, aliases and history share a page).
func (w *writeTx) flush() error {
	w.index.onCommit(w.tx, w.subjects, w.index.note)
	weak := make([]string, 0, len(w.newAliases))
	for k := range w.newAliases {
		weak = append(weak, k)
	}
	slices.Sort(weak)
	for _, k := range weak {
		if err := putAlias(w.tx, w.views, k, w.newAliases[k]); err != nil {
			return err
		}
	}
	slices.Sort(w.order)
	for _, qrid := range w.order {
		cv := w.cache[qrid]
		if cv.dirty {
			if err := putView(w.tx, w.views, qrid, cv.orig, cv.v, cv.deleted); err != nil {
				return err
			}
		}
		slices.Sort(cv.aliasOf)
		for _, x := range cv.aliasOf {
			if err := w.ids.Put(aliasOfKey(qrid, x), nil); err != nil {
				return err
			}
		}
		slices.SortFunc(cv.history, bytes.Compare)
		for _, k := range cv.history {
			if err := w.ids.Put(k, nil); err != nil {
				return err
			}
		}
	}
	cells := make([]string, 0, len(w.counts))
	for k := range w.counts {
		cells = append(cells, k)
	}
	slices.Sort(cells)
	for _, k := range cells {
		if err := addCell(w.counters, []byte(k), w.counts[k]); err != nil {
			return err
		}
	}
	return nil
}

// putView stores (or, when deleted, removes) the view of qrid, in the file and, once the
// transaction commits, in cache (when not nil), and keeps the inconsistency
// indexes in step with it: inconsistent lists every identity with an inconsistency,
// inconsistentByField (field, NUL, QR id) those with one on a field. old is the view as stored
// before (zero when none).
func putView(tx *bolt.Tx, cache *viewCache, qrid string, old, v store.View, deleted bool) error {
	k := []byte(qrid)
	views, inconsistent, byField := tx.Bucket(bucketIdentities), tx.Bucket(bucketInconsistent), tx.Bucket(bucketInconsistentByField)
	keep := map[store.Field]bool{}
	if deleted {
		if err := views.Delete(k); err != nil {
			return err
		}
		cache.afterCommit(tx, qrid, nil)
	} else {
		b := encodeView(v)
		if err := views.Put(k, b); err != nil {
			return err
		}
		cache.afterCommit(tx, qrid, b)
		for _, in := range v.Inconsistencies {
			if !keep[in.Field] {
				keep[in.Field] = true
				if err := byField.Put(fieldKey(in.Field, qrid), nil); err != nil {
					return err
				}
			}
		}
	}
	for _, in := range old.Inconsistencies {
		if !keep[in.Field] {
			if err := byField.Delete(fieldKey(in.Field, qrid)); err != nil {
				return err
			}
		}
	}
	switch {
	case len(keep) > 0:
		return inconsistent.Put(k, nil)
	case len(old.Inconsistencies) > 0:
		return inconsistent.Delete(k)
	}
	return nil // it was not listed and is not
}

func fieldKey(f store.Field, qrid string) []byte {
	return append(identityPrefix(string(f)), qrid...)
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
