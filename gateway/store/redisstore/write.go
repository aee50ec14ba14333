package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// group is the accepted items of one batch about one identity.
type group struct {
	qrid      string // the identity written, after following aliases
	items     []int  // indices into the batch
	aliases   []string
	itemsDone bool // the items are stored; only aliases remain

	// read in the current attempt
	cur      stored
	versions []canonical.Declaration // stored versions
	aliased  map[string]stored
	absorb   map[string][]canonical.Declaration
}

// WriteBatch stores items atomically per identity and idempotently per RecordKey.
//
// Accepted items are grouped by identity; for each group the store reads the view and the
// versions it already has (one pipeline for the batch), merges with store.Apply in Go, and
// runs one compare-and-set script per identity (one pipeline). A group that lost the race is re-read
// and retried, up to Options.CASRetries times, then the batch fails with errs.Conflict.
// Then each accepted record key is marked in the seen set of its record key's bucket, and
// each rejection is one script in that bucket (a duplicate when the key is marked or the
// rejection is already stored).
func (s *Store) WriteBatch(ctx context.Context, items []store.Item) ([]store.Result, error) {
	const op = "redisstore.WriteBatch"
	results := make([]store.Result, len(items))
	byQRID := map[string]*group{}
	var groups []*group
	var rejections []*scriptCall
	var rejIdx []int
	for i, it := range items {
		if err := it.Check(); err != nil {
			return nil, errs.Errorf(errs.Invalid, op, "item %d: %w", i, err)
		}
		switch {
		case it.Rejected != nil:
			rejections = append(rejections, s.rejectCall(it.Rejected, recordField(it.Key())))
			rejIdx = append(rejIdx, i)
		default:
			q := it.Accepted.QRID
			g := byQRID[q]
			if g == nil {
				g = &group{qrid: q}
				byQRID[q] = g
				groups = append(groups, g)
			}
			g.items = append(g.items, i)
			for _, a := range it.Accepted.Aliases {
				if a != "" && a != q && !slices.Contains(g.aliases, a) {
					g.aliases = append(g.aliases, a)
				}
			}
		}
	}
	if err := s.writeGroups(ctx, items, groups, results); err != nil {
		return nil, classify(op, err)
	}
	// The marks go ahead of the rejections in one pipeline: a mark and a rejection of one
	// record key are in one slot, so on one connection, in this order.
	var marks []*redis.IntCmd
	runScripts(ctx, s.c, rejections, func(pipe redis.Pipeliner) { marks = s.markSeen(ctx, pipe, items) })
	for _, m := range marks {
		if err := m.Err(); err != nil {
			return nil, classify(op, err)
		}
	}
	for j, sc := range rejections {
		n, err := sc.cmd.Int()
		if err != nil {
			return nil, classify(op, err)
		}
		results[rejIdx[j]] = store.Result{Outcome: store.OutcomeRejected}
		if n == 1 {
			results[rejIdx[j]].Outcome = store.OutcomeDuplicate
		}
	}
	return results, nil
}

// markSeen queues the marks of every accepted item's record key in the seen sets
// (idempotently, also for duplicates, so a batch retried after a crash between the identity
// scripts and the marks completes them).
func (s *Store) markSeen(ctx context.Context, pipe redis.Pipeliner, items []store.Item) []*redis.IntCmd {
	var cmds []*redis.IntCmd
	for _, it := range items {
		if it.Accepted != nil {
			key, member := s.k.seen(recordField(it.Key()))
			cmds = append(cmds, pipe.SAdd(ctx, key, member))
		}
	}
	return cmds
}

func (s *Store) rejectCall(r *store.Rejected, field string) *scriptCall {
	b := bucketOf(field)
	members := rejectionMembers(r, field)
	seen, marker := s.k.seen(field)
	args := []any{field, encodeRejected(r), marker, len(members)}
	for _, m := range members {
		args = append(args, m)
	}
	args = append(args, cellFields(store.CountsOf(store.Item{Rejected: r}))...)
	return &scriptCall{script: rejectScript, keys: []string{s.k.rejections(b), s.k.rejectionIndex(b), s.k.counters(b), seen}, args: args}
}

func (s *Store) writeGroups(ctx context.Context, items []store.Item, groups []*group, results []store.Result) error {
	pending := groups
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt >= s.casRetries {
			return errs.Errorf(errs.Conflict, "redisstore.WriteBatch", "%d identities still contended after %d attempts", len(pending), attempt)
		}
		if err := ctx.Err(); err != nil {
			return errs.E(errs.Transient, "redisstore.WriteBatch", err)
		}
		if err := s.readGroups(ctx, pending); err != nil {
			return err
		}
		var next []*group
		var calls []*scriptCall
		var callGroups []*group
		var fresh [][]int
		for _, g := range pending {
			if g.cur.alias != "" { // the identity became an alias: write to its target
				g.qrid = g.cur.alias
				next = append(next, g)
				continue
			}
			call, freshIdx, dupIdx := s.prepare(items, g)
			for _, i := range dupIdx {
				results[i] = store.Result{Outcome: store.OutcomeDuplicate, QRID: g.qrid}
			}
			if call == nil {
				g.itemsDone = true
				callGroups = append(callGroups, g)
				calls = append(calls, nil)
				fresh = append(fresh, nil)
				continue
			}
			calls = append(calls, call)
			callGroups = append(callGroups, g)
			fresh = append(fresh, freshIdx)
		}
		if err := s.writeIndex(ctx, items, callGroups, fresh); err != nil {
			return err
		}
		if s.afterIndex != nil {
			if err := s.afterIndex(); err != nil {
				return err
			}
		}
		var run []*scriptCall
		for _, c := range calls {
			if c != nil {
				run = append(run, c)
			}
		}
		runScripts(ctx, s.c, run)
		var aliasCalls []*scriptCall
		var aliasGroups []*group
		var aliasNew []aliasClaim
		for k, g := range callGroups {
			if c := calls[k]; c != nil {
				reply, err := c.cmd.Slice()
				if err != nil {
					return err
				}
				switch code, _ := reply[0].(int64); code {
				case 0:
					for _, i := range fresh[k] {
						results[i] = store.Result{Outcome: store.OutcomeAccepted, QRID: g.qrid}
					}
					g.itemsDone = true
				case 1:
					next = append(next, g)
					continue
				case 2:
					g.qrid, _ = reply[1].(string)
					next = append(next, g)
					continue
				default:
					return fmt.Errorf("write script: unexpected reply %v", reply)
				}
			}
			for _, a := range g.aliases {
				st, ok := g.aliased[a]
				if !ok || st.alias != "" {
					continue // already an alias (of g or, first come first served, of another)
				}
				if !st.exists {
					// No weak identity yet: claiming the name is one SET NX, no script.
					aliasNew = append(aliasNew, aliasClaim{g: g, key: s.k.view(a), value: "A" + g.qrid})
					continue
				}
				rem := incMembers(&st.view)
				args := []any{st.token(), g.qrid, a}
				for _, m := range rem {
					args = append(args, m)
				}
				b := bucketOf(a)
				aliasCalls = append(aliasCalls, &scriptCall{script: aliasScript,
					keys: []string{s.k.view(a), s.k.decl(a), s.k.inconsistent(b), s.k.oldest(b)}, args: args})
				aliasGroups = append(aliasGroups, g)
			}
		}
		if s.beforeAliases != nil && len(aliasCalls)+len(aliasNew) > 0 {
			if err := s.beforeAliases(); err != nil {
				return err
			}
		}
		runScripts(ctx, s.c, aliasCalls, func(pipe redis.Pipeliner) {
			for i := range aliasNew {
				aliasNew[i].cmd = pipe.SetNX(ctx, aliasNew[i].key, aliasNew[i].value, 0)
			}
		})
		retried := map[*group]bool{}
		for _, c := range aliasNew {
			set, err := c.cmd.Result()
			if err != nil {
				return err
			}
			if !set && !retried[c.g] {
				// Someone wrote the weak identity meanwhile: read it again.
				retried[c.g] = true
				next = append(next, c.g)
			}
		}
		for k, c := range aliasCalls {
			reply, err := c.cmd.Slice()
			if err != nil {
				return err
			}
			if code, _ := reply[0].(int64); code == 1 && !retried[aliasGroups[k]] {
				// The weak identity changed after it was read: absorb it again.
				retried[aliasGroups[k]] = true
				next = append(next, aliasGroups[k])
			}
		}
		pending = next
	}
	return nil
}

// aliasClaim makes a weak QR id that names no identity yet an alias.
type aliasClaim struct {
	g     *group
	key   string
	value string
	cmd   *redis.BoolCmd
}

// readGroups reads, in one pipeline, each group's view and versions and the state of its
// aliases; then, in a second pipeline, the versions of aliases that hold data to absorb.
func (s *Store) readGroups(ctx context.Context, groups []*group) error {
	pipe := s.c.Pipeline()
	views := make([]*redis.StringCmd, len(groups))
	aliases := make([][]*redis.StringCmd, len(groups))
	for k, g := range groups {
		views[k] = pipe.Get(ctx, s.k.view(g.qrid))
		aliases[k] = aliases[k][:0]
		for _, a := range g.aliases {
			aliases[k] = append(aliases[k], pipe.Get(ctx, s.k.view(a)))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	// Versions in a versions key of their own (written by earlier versions) are read in a
	// second pipeline, with those of aliases to absorb; a change in between fails the
	// compare-and-set, since the token changes with every write of the versions.
	pipe = s.c.Pipeline()
	type versionsRead struct {
		g   *group
		a   string // the alias whose versions these are; "" for the group's own
		cmd *redis.StringCmd
	}
	var reads []versionsRead
	for k, g := range groups {
		var err error
		if g.cur, err = fromCmd(views[k], g.qrid); err != nil {
			return err
		}
		g.versions = nil
		switch {
		case g.cur.withVersions:
			if g.versions, err = embeddedVersions(g.cur); err != nil {
				return err
			}
		case g.cur.exists && g.cur.alias == "":
			reads = append(reads, versionsRead{g: g, cmd: pipe.Get(ctx, s.k.decl(g.qrid))})
		}
		g.aliased = map[string]stored{}
		g.absorb = map[string][]canonical.Declaration{}
		for j, a := range g.aliases {
			st, err := fromCmd(aliases[k][j], a)
			if err != nil {
				return err
			}
			if a == g.qrid {
				continue // the group was redirected to its own alias's target
			}
			g.aliased[a] = st
			switch {
			case st.withVersions:
				if g.absorb[a], err = embeddedVersions(st); err != nil {
					return err
				}
			case st.exists && st.alias == "":
				reads = append(reads, versionsRead{g: g, a: a, cmd: pipe.Get(ctx, s.k.decl(a))})
			}
		}
	}
	if len(reads) == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for _, r := range reads {
		ds, err := versionsOf(stored{}, r.cmd)
		if err != nil {
			return err
		}
		if r.a == "" {
			r.g.versions = ds
		} else {
			r.g.absorb[r.a] = ds
		}
	}
	return nil
}

// versionsOf returns the versions of the identity whose view is st: in the view's key, or
// (written by earlier versions) in the versions key, whose GET is cmd.
func versionsOf(st stored, cmd *redis.StringCmd) ([]canonical.Declaration, error) {
	if st.withVersions {
		return embeddedVersions(st)
	}
	val, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeVersions(val)
}

// prepare merges a group's new items and absorbed aliases into its view and versions and
// returns the write script call (nil when nothing changes), the fresh items and the
// duplicates.
func (s *Store) prepare(items []store.Item, g *group) (call *scriptCall, freshIdx, dupIdx []int) {
	old := g.cur.view
	v := old
	have := make(map[store.RecordKey]bool, len(g.versions))
	for i := range g.versions {
		have[keyOf(&g.versions[i])] = true
	}
	n := len(g.versions) + len(g.items)
	for _, a := range g.aliases {
		n += len(g.absorb[a])
	}
	all := append(make([]canonical.Declaration, 0, n), g.versions...)
	var cells []any
	oldest := int64(-1)
	add := func(d canonical.Declaration, a store.Accepted) {
		a.QRID = g.qrid
		v, _ = store.Apply(v, a)
		all = append(all, d)
		have[keyOf(&d)] = true
		if ms := d.DeclaredAt.UnixMilli(); oldest < 0 || ms < oldest {
			oldest = ms
		}
	}
	if !g.itemsDone {
		for _, i := range g.items {
			a := items[i].Accepted
			if have[items[i].Key()] {
				dupIdx = append(dupIdx, i)
				continue
			}
			add(a.Declaration, *a)
			cells = append(cells, cellFields(store.CountsOf(items[i]))...)
			freshIdx = append(freshIdx, i)
		}
	}
	copied := 0
	for _, a := range g.aliases {
		for _, d := range g.absorb[a] {
			if !have[keyOf(&d)] {
				add(d, store.Accepted{Declaration: d})
				copied++
			}
		}
	}
	if len(freshIdx) == 0 && copied == 0 {
		return nil, nil, dupIdx
	}
	// The index holds the oldest stored version's time (every write that added an older one
	// lowered it, and purge sets it exactly): only an older version changes it.
	oldestArg := ""
	if stored, ok := oldestOf(g.versions); oldest >= 0 && (!ok || oldest < stored) {
		oldestArg = strconv.FormatInt(oldest, 10)
	}
	delVersions := "" // only a value of earlier versions has its versions in their own key
	if g.cur.exists && !g.cur.withVersions {
		delVersions = "1"
	}
	removed, added := diff(incMembers(&old), incMembers(&v))
	args := []any{g.cur.token(), viewValue(&v, g.cur.gen+1, g.qrid, all), delVersions, oldestArg, g.qrid, len(cells), len(removed)}
	args = append(args, cells...)
	for _, m := range removed {
		args = append(args, m)
	}
	for _, m := range added {
		args = append(args, m)
	}
	b := bucketOf(g.qrid)
	call = &scriptCall{script: writeScript,
		keys: []string{s.k.view(g.qrid), s.k.decl(g.qrid), s.k.counters(b), s.k.inconsistent(b), s.k.oldest(b)}, args: args}
	return call, freshIdx, dupIdx
}
