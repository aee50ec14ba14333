package pull

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// testDeadline bounds every wait on a condition.
const testDeadline = 10 * time.Second

// fakeClock is a manual clock shared by the runners of a test. Each runner joins as a party
// with its own After; step waits until every party is waiting, then moves the clock to the
// earliest waiter's time and fires it. So time only moves while every runner is idle, and
// nothing in the tests ever sleeps.
type fakeClock struct {
	mu        sync.Mutex
	now       time.Time
	parties   map[string]bool
	waiters   []*waiter
	requested []time.Duration // every duration passed to After, in order
	notify    chan struct{}
}

type waiter struct {
	owner string
	at    time.Time
	d     time.Duration
	ch    chan time.Time
}

func newClock() *fakeClock {
	return &fakeClock{
		now:     time.Date(2021, 8, 14, 8, 0, 0, 0, time.UTC),
		parties: map[string]bool{},
		notify:  make(chan struct{}, 1),
	}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// join adds a party and returns its After.
func (c *fakeClock) join(owner string) func(time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.parties[owner] = true
	c.mu.Unlock()
	return func(d time.Duration) <-chan time.Time {
		c.mu.Lock()
		w := &waiter{owner: owner, at: c.now.Add(d), d: d, ch: make(chan time.Time, 1)}
		c.waiters = append(c.waiters, w)
		c.requested = append(c.requested, d)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
		return w.ch
	}
}

// leave removes a stopped party and its abandoned waiters.
func (c *fakeClock) leave(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.parties, owner)
	c.waiters = slices.DeleteFunc(c.waiters, func(w *waiter) bool { return w.owner == owner })
}

// Requested returns the durations waited for so far.
func (c *fakeClock) Requested() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.requested)
}

// allWaiting reports whether every party has a pending waiter; c.mu is held.
func (c *fakeClock) allWaiting() bool {
	if len(c.parties) == 0 {
		return false
	}
	for p := range c.parties {
		if !slices.ContainsFunc(c.waiters, func(w *waiter) bool { return w.owner == p }) {
			return false
		}
	}
	return true
}

// idle waits until every party waits on the clock.
func (c *fakeClock) idle(t *testing.T) {
	t.Helper()
	deadline := time.NewTimer(testDeadline)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok := c.allWaiting()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			t.Fatalf("the runners did not all wait on the clock within %s", testDeadline)
		}
	}
}

// step waits until every party waits on the clock, then advances the clock to the earliest
// waiter's time and fires it.
func (c *fakeClock) step(t *testing.T) {
	t.Helper()
	c.idle(t)
	c.mu.Lock()
	i := 0
	for j, w := range c.waiters {
		if w.at.Before(c.waiters[i].at) {
			i = j
		}
	}
	w := c.waiters[i]
	c.waiters = slices.Delete(c.waiters, i, i+1)
	if w.at.After(c.now) {
		c.now = w.at
	}
	now := c.now
	c.mu.Unlock()
	w.ch <- now
}

// stepUntil fires the clock's waiters one by one until cond holds while every runner waits.
func (c *fakeClock) stepUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for {
		c.idle(t)
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		c.step(t)
	}
}

// memState is an in-memory State, faithful to the store contract: fencing tokens strictly
// increase each time the lease changes holder, and SaveCursor refuses a stale fence.
type memState struct {
	mu      sync.Mutex
	now     func() time.Time
	cursors map[string]string
	leases  map[string]*memLease
	tokens  map[string]uint64
	saves   int // successful SaveCursor calls
	asked   int // Lease calls
}

type memLease struct {
	holder  string
	token   uint64
	expires time.Time
}

func newState(now func() time.Time) *memState {
	return &memState{now: now, cursors: map[string]string{}, leases: map[string]*memLease{}, tokens: map[string]uint64{}}
}

func (s *memState) Cursor(_ context.Context, partner string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursors[partner], nil
}

func (s *memState) SaveCursor(_ context.Context, partner, cursor string, fence uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fence != s.tokens[partner] {
		return errs.Errorf(errs.Conflict, "memState.SaveCursor", "stale fence %d, current %d", fence, s.tokens[partner])
	}
	s.cursors[partner] = cursor
	s.saves++
	return nil
}

func (s *memState) Lease(_ context.Context, name, holder string, ttl time.Duration) (uint64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	now := s.now()
	l := s.leases[name]
	switch {
	case l != nil && l.holder == holder && now.Before(l.expires):
		l.expires = now.Add(ttl)
		return l.token, true, nil
	case l != nil && now.Before(l.expires):
		return 0, false, nil
	}
	s.tokens[name]++
	s.leases[name] = &memLease{holder: holder, token: s.tokens[name], expires: now.Add(ttl)}
	return s.tokens[name], true, nil
}

func (s *memState) ReleaseLease(_ context.Context, name, holder string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.leases[name]; l != nil && l.holder == holder {
		delete(s.leases, name)
	}
	return nil
}

// steal gives the lease to holder as if the current holder's lease had run out.
func (s *memState) steal(name, holder string, ttl time.Duration) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[name]++
	s.leases[name] = &memLease{holder: holder, token: s.tokens[name], expires: s.now().Add(ttl)}
	return s.tokens[name]
}

func (s *memState) holder(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.leases[name]; l != nil && s.now().Before(l.expires) {
		return l.holder
	}
	return ""
}

func (s *memState) cursor(name string) string {
	c, _ := s.Cursor(context.Background(), name)
	return c
}

// fakeSource is a partner feed: records in order, pages of pageSize, the cursor is the index
// of the next record. fail, when set, may make a call fail.
type fakeSource struct {
	name     canonical.Platform
	pageSize int

	mu      sync.Mutex
	records []canonical.Declaration
	calls   []string // the cursor of every call that reached the partner
	fail    func(call int, cursor string) error
}

func newSource(name canonical.Platform, n int) *fakeSource {
	s := &fakeSource{name: name, pageSize: 2}
	s.add(n)
	return s
}

func (s *fakeSource) add(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		i := len(s.records)
		s.records = append(s.records, canonical.Declaration{
			Source:     canonical.Source{Platform: s.name, RecordID: fmt.Sprintf("%s-%d", s.name, i), Version: "1"},
			DeclaredAt: time.Date(2021, 8, 14, 7, 0, i, 0, time.UTC),
		})
	}
}

func (s *fakeSource) setFail(f func(call int, cursor string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

func (s *fakeSource) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *fakeSource) Name() canonical.Platform { return s.name }

func (s *fakeSource) Fetch(ctx context.Context, cursor string) (adapters.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, cursor)
	if s.fail != nil {
		if err := s.fail(len(s.calls), cursor); err != nil {
			return adapters.Page{}, err
		}
	}
	from := 0
	if cursor != "" {
		var err error
		if from, err = strconv.Atoi(cursor); err != nil {
			return adapters.Page{}, errs.Errorf(errs.Invalid, "fakeSource.Fetch", "cursor %q: %w", cursor, err)
		}
	}
	to := min(from+s.pageSize, len(s.records))
	return adapters.Page{
		Declarations: slices.Clone(s.records[from:to]),
		Next:         strconv.Itoa(to),
		More:         to < len(s.records),
	}, nil
}

// fakeSink stores declarations idempotently by record id, like the real store. fail may fail
// a call; gate, when set, holds each call until the test sends on it; entered (buffered) is
// signalled, without blocking, when a call begins.
type fakeSink struct {
	mu      sync.Mutex
	seen    map[string]bool
	batches [][]string // record ids of every call
	fail    func(call int) error
	gate    chan error
	entered chan struct{}
}

func newSink() *fakeSink { return &fakeSink{seen: map[string]bool{}} }

// newGatedSink returns a sink that holds every call until the test sends its outcome on gate.
func newGatedSink() *fakeSink {
	s := newSink()
	s.gate = make(chan error)
	s.entered = make(chan struct{}, 1)
	return s
}

func (s *fakeSink) ungate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = nil
}

func (s *fakeSink) Ingest(ctx context.Context, batch []canonical.Declaration) ([]adapters.Result, error) {
	s.mu.Lock()
	ids := make([]string, len(batch))
	for i, d := range batch {
		ids[i] = d.Source.RecordID
	}
	s.batches = append(s.batches, ids)
	call := len(s.batches)
	fail, gate, entered := s.fail, s.gate, s.entered
	s.mu.Unlock()
	if entered != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		if err := <-gate; err != nil {
			return nil, err
		}
	}
	if fail != nil {
		if err := fail(call); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make([]adapters.Result, len(batch))
	for i, d := range batch {
		switch {
		case len(d.Problems) > 0:
			results[i] = adapters.Result{Outcome: "rejected", Violations: d.Problems}
		case s.seen[d.Source.RecordID]:
			results[i] = adapters.Result{Outcome: "duplicate"}
		default:
			results[i] = adapters.Result{Outcome: "accepted"}
		}
		s.seen[d.Source.RecordID] = true
	}
	return results, nil
}

func (s *fakeSink) stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *fakeSink) Batches() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// events records the observer's callbacks.
type events struct {
	mu       sync.Mutex
	breaker  []string // "from>to"
	failures []errs.Kind
	pulled   int
	lags     []time.Duration
}

func (e *events) observer() Observer {
	return Observer{
		BreakerChanged: func(_ string, from, to BreakerState) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.breaker = append(e.breaker, string(from)+">"+string(to))
		},
		FetchFailed: func(_ string, kind errs.Kind, _ int) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.failures = append(e.failures, kind)
		},
		Committed: func(_ string, n int, lag time.Duration) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.pulled += n
			e.lags = append(e.lags, lag)
		},
	}
}

func (e *events) Breaker() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.breaker)
}

// testConfig is a runner configuration on the fake clock, with jitter fixed at one half.
func testConfig(holder string, c *fakeClock) Config {
	return Config{
		Holder:       holder,
		PollInterval: 5 * time.Second,
		LeaseTTL:     3 * time.Hour, // long, so waits are not split into renewal steps
		BackoffBase:  time.Second,
		BackoffMax:   time.Minute,
		Breaker:      BreakerConfig{Failures: 3, Timeout: time.Hour},
		Rand:         func() float64 { return 0.5 },
		Now:          c.Now,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// newRunner builds a runner on the clock, as a party of its own.
func newRunner(t *testing.T, c *fakeClock, cfg Config, src adapters.Source, sink adapters.Sink, st State) *Runner {
	t.Helper()
	cfg.After = c.join(partyOf(cfg, src))
	r, err := New(cfg, src, sink, st)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func partyOf(cfg Config, src adapters.Source) string { return cfg.Holder + "/" + string(src.Name()) }

// startRunner builds and starts a runner, and stops it when the test ends.
func startRunner(t *testing.T, c *fakeClock, cfg Config, src adapters.Source, sink adapters.Sink, st State) *Runner {
	t.Helper()
	r := newRunner(t, c, cfg, src, sink, st)
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stop(t, c, r) })
	return r
}

// stop shuts r down and takes it off the clock.
func stop(t *testing.T, c *fakeClock, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	c.leave(partyOf(r.cfg, r.src))
}

func transient(call int) error {
	return errs.Errorf(errs.Transient, "fakeSource.Fetch", "503 Service Unavailable (call %d)", call)
}

// leaseCalls returns how many times the lease was asked for.
func (s *memState) leaseCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked
}
