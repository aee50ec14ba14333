package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

var _ store.Store = (*Store)(nil)

// maxViewBytes bounds the decompressed size of a view, so a corrupt value cannot exhaust
// memory.
const maxViewBytes = 1 << 20

// maxHops bounds how many aliases a lookup follows (weak → CMND → CCCD is two).
const maxHops = 4

// Store is the Redis store. It is safe for concurrent use by many gateway replicas.
type Store struct {
	c          redis.UniversalClient
	gets       *getter // coalesces the lookups' GETs into pipelines
	k          keyspace
	now        func() time.Time
	casRetries int
	// beforeAliases, in tests, runs between the identity scripts and the alias scripts; an
	// error stops the write there, as a crash would.
	beforeAliases func() error
	// afterIndex, in tests, runs between the source index writes and the identity scripts;
	// an error stops the write there, as a crash would.
	afterIndex func() error
	// direct, in benchmarks, sends each GET on its own instead of coalescing them.
	direct    bool
	closeOnce sync.Once
	closeErr  error
}

// Open connects to Redis and checks that it answers.
func Open(ctx context.Context, opts Options) (*Store, error) {
	const op = "redisstore.Open"
	if opts.URL != "" {
		t, err := ParseTarget(opts.URL)
		if err != nil {
			return nil, err
		}
		opts = opts.merge(t)
	}
	if len(opts.Addrs) == 0 {
		return nil, errs.Errorf(errs.Invalid, op, "redis: no address")
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "lt"
	}
	if strings.ContainsAny(ns, "{}") {
		return nil, errs.Errorf(errs.Invalid, op, "redis namespace %q: must not contain braces", ns)
	}
	c := redis.NewUniversalClient(opts.universal())
	s := &Store{c: c, k: newKeyspace(ns), now: opts.Now, casRetries: opts.CASRetries}
	if s.now == nil {
		s.now = time.Now
	}
	if s.casRetries <= 0 {
		s.casRetries = 64
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.c.Close()
		return nil, err
	}
	// Load the scripts on every master now, so the first batch runs them by EVALSHA; a
	// server that loses them later (restart, failover, SCRIPT FLUSH) gets them again by EVAL.
	for _, sc := range allScripts {
		if err := sc.Load(ctx, s.c).Err(); err != nil {
			_ = s.c.Close()
			return nil, classify(op, err)
		}
	}
	s.gets = newGetter(c)
	return s, nil
}

// Client returns the underlying client (for tests and operator tools).
func (s *Store) Client() redis.UniversalClient { return s.c }

// Ping reports whether every master answers.
func (s *Store) Ping(ctx context.Context) error {
	const op = "redisstore.Ping"
	if cc, ok := s.c.(*redis.ClusterClient); ok {
		return classify(op, cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.Ping(ctx).Err()
		}))
	}
	return classify(op, s.c.Ping(ctx).Err())
}

// Close closes the connections; it is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = classify("redisstore.Close", s.c.Close())
		s.gets.close()
	})
	return s.closeErr
}

// stored is the decoded state of one view key.
type stored struct {
	exists bool
	alias  string // the target when the key is an alias
	rev    uint64
	gen    uint64 // counts writes of the identity's versions
	view   store.View
	// withVersions is set when the versions follow the view in the view's key (see
	// viewValue): rest is the compact value after the view, tab the value's table there.
	withVersions bool
	rest         string
	tab          table
}

// token is the compare-and-set token of a stored view: "<revision>.<generation>", or "0" when
// there is none. The generation changes with every write of the versions, also when the view
// does not (a late older version), so the token guards both keys.
func (st stored) token() string {
	if !st.exists {
		return "0"
	}
	return strconv.FormatUint(st.rev, 10) + "." + strconv.FormatUint(st.gen, 10)
}

// viewValue encodes the view of qrid and its versions as stored in the view's key:
// "V<revision>.<generation>\n", then fmtIdentity and one compact value (compact.go) of the
// view's fields (its QR id left out when it is qrid's), the number of versions and each
// version. The versions follow the view, so a lookup decodes the view alone, and they share
// its table, so what the view repeats of them is written once. Earlier versions stored the
// plain view body DEFLATE-compressed after the header, and the versions in the versions key;
// parseStored and versionsOf read both.
func viewValue(v *store.View, gen uint64, qrid string, decls []canonical.Declaration) []byte {
	e := enc{b: make([]byte, 0, 256+160*len(decls)), compact: &table{}}
	e.b = append(e.b, 'V')
	e.b = strconv.AppendUint(e.b, v.Revision, 10)
	e.b = append(e.b, '.')
	e.b = strconv.AppendUint(e.b, gen, 10)
	e.b = append(e.b, '\n', fmtIdentity)
	e.bool(v.QRID == qrid)
	if v.QRID != qrid {
		e.s(v.QRID)
	}
	viewFields(&e, v)
	e.u(uint64(len(decls)))
	for i := range decls {
		declaration(&e, &decls[i])
	}
	return e.b
}

// readView decodes the view at the start of a compact value of qrid's view key.
func readView(d *dec, qrid string, rev uint64) store.View {
	var v store.View
	if d.bool() {
		v.QRID = qrid
	} else {
		v.QRID = d.s()
	}
	readViewFields(d, &v)
	v.Revision = rev
	return v
}

// parseStored decodes the value of qrid's view key (the view only).
func parseStored(val, qrid string) (stored, error) {
	if val == "" {
		return stored{}, errCorrupt
	}
	if val[0] == 'A' {
		return stored{exists: true, alias: val[1:]}, nil
	}
	nl := strings.IndexByte(val, '\n')
	if val[0] != 'V' || nl < 0 {
		return stored{}, errCorrupt
	}
	revText, genText, ok := strings.Cut(val[1:nl], ".")
	rev, err1 := strconv.ParseUint(revText, 10, 64)
	gen, err2 := strconv.ParseUint(genText, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return stored{}, errCorrupt
	}
	st := stored{exists: true, rev: rev, gen: gen}
	var err error
	switch body := val[nl+1:]; {
	case len(body) > 0 && (body[0] == fmtIdentity || body[0] == fmtViewCompact):
		d := dec{b: body[1:], compact: &table{}}
		st.view = readView(&d, qrid, rev)
		if body[0] == fmtIdentity {
			st.withVersions, st.rest, st.tab, err = true, d.b, *d.compact, d.err
			st.tab.strs = slices.Clip(st.tab.strs) // decoding the versions appends to a copy
		} else {
			err = d.done()
		}
	default:
		var raw []byte
		if raw, err = inflate([]byte(body), maxViewBytes); err != nil {
			return stored{}, err
		}
		st.view, err = decodeViewBody(string(raw), rev)
	}
	if err != nil {
		return stored{}, err
	}
	return st, nil
}

// embeddedVersions decodes the versions that follow the view in the view's key.
func embeddedVersions(st stored) ([]canonical.Declaration, error) {
	tab := st.tab
	d := dec{b: st.rest, compact: &tab}
	n := d.u()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, errCorrupt
	}
	out := make([]canonical.Declaration, n)
	for i := range out {
		out[i] = readDeclaration(&d)
	}
	if n == 0 {
		out = nil
	}
	return out, d.done()
}

// versions returns the stored versions of identity q whose view is st: in the view's key, or
// (written by earlier versions) in the versions key.
func (s *Store) versions(ctx context.Context, q string, st stored) ([]canonical.Declaration, error) {
	if st.withVersions {
		return embeddedVersions(st)
	}
	val, err := s.get(ctx, s.k.decl(q))
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return decodeVersions(val)
}

// fromCmd decodes a GET reply; a missing key is a stored{} without error.
func fromCmd(cmd *redis.StringCmd, qrid string) (stored, error) {
	val, err := cmd.Result()
	return fromReply(val, err, qrid)
}

// fromReply decodes a GET reply of qrid's view key given as value and error.
func fromReply(val string, err error, qrid string) (stored, error) {
	if errors.Is(err, redis.Nil) {
		return stored{}, nil
	}
	if err != nil {
		return stored{}, err
	}
	return parseStored(val, qrid)
}

// get reads one key through the coalescing pipeline (or directly, in benchmarks that compare).
func (s *Store) get(ctx context.Context, key string) (string, error) {
	if s.direct {
		return s.c.Get(ctx, key).Result()
	}
	return s.gets.get(ctx, key)
}

// resolve follows aliases from qrid to the identity holding the data.
func (s *Store) resolve(ctx context.Context, qrid string) (string, stored, error) {
	for hop := 0; hop <= maxHops; hop++ {
		val, err := s.get(ctx, s.k.view(qrid))
		st, err := fromReply(val, err, qrid)
		if err != nil {
			return "", stored{}, err
		}
		if st.alias == "" {
			return qrid, st, nil
		}
		qrid = st.alias
	}
	return "", stored{}, errors.New("alias chain too long")
}

// View returns the view of qrid, following an alias.
func (s *Store) View(ctx context.Context, qrid string) (store.View, error) {
	const op = "redisstore.View"
	_, st, err := s.resolve(ctx, qrid)
	if err != nil {
		return store.View{}, classify(op, err)
	}
	if !st.exists {
		return store.View{}, errs.Errorf(errs.NotFound, op, "no identity %q", qrid)
	}
	return st.view, nil
}

// History returns every stored version of qrid's declarations (after aliasing), oldest first.
func (s *Store) History(ctx context.Context, qrid string) ([]canonical.Declaration, error) {
	const op = "redisstore.History"
	q, st, err := s.resolve(ctx, qrid)
	if err != nil {
		return nil, classify(op, err)
	}
	if !st.exists {
		return nil, errs.Errorf(errs.NotFound, op, "no identity %q", qrid)
	}
	out, err := s.versions(ctx, q, st)
	if err != nil {
		if errors.Is(err, errCorrupt) {
			return nil, errs.E(errs.Other, op, err)
		}
		return nil, classify(op, err)
	}
	store.SortHistory(out)
	return out, nil
}
