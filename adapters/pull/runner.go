// Package pull runs one pull partner: it holds the partner's lease, fetches pages through the
// partner's circuit breaker, hands them to the sink and moves the cursor only after the sink
// has committed them.
//
// Error kinds decide what happens (canonical/errs):
//   - a fetch error of kind Transient (time-out, 5xx, 429, connection) counts against the
//     breaker; with adapters.RetryAfter the runner waits that long, else it backs off;
//   - Permission and Unauthenticated (a bad token) never trip the breaker: retrying soon cannot
//     help, so the runner waits BackoffMax between attempts and reports the kind in Status;
//   - any other fetch error (a page that cannot be decoded as a whole) backs off without
//     tripping the breaker; single bad records travel inside the page with their Problems and
//     are the sink's business, never the breaker's;
//   - a sink or store error backs off and redoes the same page: delivery is at least once and
//     the store's idempotence makes it exactly once in effect;
//   - SaveCursor refused with errs.Conflict (another replica took the lease) stops pulling
//     until this runner holds the lease again.
package pull

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical/errs"
)

// BreakerState is the state of a partner's circuit breaker.
type BreakerState string

// The breaker states.
const (
	BreakerClosed   BreakerState = "closed"    // fetches go through
	BreakerHalfOpen BreakerState = "half-open" // a trial fetch goes through
	BreakerOpen     BreakerState = "open"      // fetches are refused until the breaker's timeout
)

func breakerState(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	case gobreaker.StateOpen:
		return BreakerOpen
	}
	return BreakerClosed
}

// Status is a runner's state for /readyz details and metrics.
type Status struct {
	Partner             string
	Breaker             BreakerState
	ConsecutiveFailures int       // failed fetches in a row
	LastSuccess         time.Time // when a page was last committed (zero: never)
	LastError           string    // the last error's text ("" when none since the last commit)
	LastErrorKind       errs.Kind // its kind, meaningful when LastError is not empty
	Cursor              string    // the last cursor read or committed
	HoldingLease        bool
	Pulled              int64 // declarations committed by this runner since it started
}

// Runner pulls one partner. Build it with New, run it with Start, stop it with Shutdown.
type Runner struct {
	cfg     Config
	src     adapters.Source
	sink    adapters.Sink
	st      State
	name    string
	breaker *gobreaker.CircuitBreaker[adapters.Page]

	mu       sync.Mutex // guards status and fence
	status   Status
	fence    uint64
	attempts int // failures in a row of any stage, for the back-off

	renewed time.Time // when the held lease was last renewed (the run goroutine's alone)

	lifeMu  sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}
	release sync.Once
}

// New returns a runner for src that hands pages to sink and keeps its cursor and lease in st.
func New(cfg Config, src adapters.Source, sink adapters.Sink, st State) (*Runner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if src == nil || sink == nil || st == nil {
		return nil, errs.E(errs.Invalid, "pull.New", errors.New("source, sink and state are required"))
	}
	name := string(src.Name())
	if name == "" {
		return nil, errs.E(errs.Invalid, "pull.New", errors.New("source Name: required"))
	}
	r := &Runner{cfg: cfg, src: src, sink: sink, st: st, name: name, done: make(chan struct{})}
	r.status.Partner = name
	failures := cfg.Breaker.Failures
	r.breaker = gobreaker.NewCircuitBreaker[adapters.Page](gobreaker.Settings{
		Name:        name,
		MaxRequests: cfg.Breaker.HalfOpenRequests,
		Timeout:     cfg.Breaker.Timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		// Only the partner's unavailability is a failure; a bad token or an undecodable
		// page says nothing about whether the partner is up.
		IsSuccessful: func(err error) bool { return err == nil || !errs.Is(err, errs.Transient) },
		// Our own shutdown is not the partner's fault.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			cfg.Logger.Warn("pull: circuit breaker changed", "partner", name, "from", from.String(), "to", to.String())
			if f := cfg.Observer.BreakerChanged; f != nil {
				f(name, breakerState(from), breakerState(to))
			}
		},
	})
	return r, nil
}

// Start starts pulling in the background and returns at once. The loop runs until Shutdown;
// ctx's values are kept but its cancellation is not (background work has its own context).
func (r *Runner) Start(ctx context.Context) error {
	r.lifeMu.Lock()
	defer r.lifeMu.Unlock()
	if r.started || r.stopped {
		return errs.Errorf(errs.Conflict, "pull.Start", "runner %s already started or shut down", r.name)
	}
	r.started = true
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	go r.run(loopCtx)
	return nil
}

// Shutdown stops the loop, waits for it (or for ctx), and gives the lease up so another
// replica can take over at once. The batch in flight either commits with its cursor or is
// fetched again after a restart; the cursor never runs ahead of a commit. It is safe to call
// twice.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.lifeMu.Lock()
	r.stopped = true
	started := r.started
	if r.cancel != nil {
		r.cancel()
	}
	r.lifeMu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return errs.E(errs.Transient, "pull.Shutdown", ctx.Err())
	}
	var err error
	r.release.Do(func() {
		if !r.Status().HoldingLease {
			return
		}
		if e := r.st.ReleaseLease(ctx, r.name, r.cfg.Holder); e != nil {
			err = errs.E(errs.KindOf(e), "pull.Shutdown", e)
			return
		}
		r.setHolding(false, 0)
	})
	return err
}

// Status returns the runner's current state.
func (r *Runner) Status() Status {
	r.mu.Lock()
	s := r.status
	r.mu.Unlock()
	s.Breaker = breakerState(r.breaker.State())
	return s
}

func (r *Runner) run(ctx context.Context) {
	defer close(r.done)
	for ctx.Err() == nil {
		if !r.wait(ctx, r.cycle(ctx)) {
			return
		}
	}
}

// cycle does one round: lease, cursor, fetch, ingest, save. It returns how long to wait
// before the next round.
func (r *Runner) cycle(ctx context.Context) time.Duration {
	held, err := r.renew(ctx)
	if err != nil {
		return r.failed(ctx, "lease", err)
	}
	if !held {
		// A standby asks often, so that it takes over about one lease time after the holder
		// died, not up to a third of a lease later.
		return r.cfg.LeaseTTL / 15
	}
	cursor, err := r.st.Cursor(ctx, r.name)
	if err != nil {
		return r.failed(ctx, "cursor", err)
	}
	r.mu.Lock()
	r.status.Cursor = cursor
	fence := r.fence
	r.mu.Unlock()

	page, err := r.breaker.Execute(func() (adapters.Page, error) {
		p, err := r.src.Fetch(ctx, cursor)
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ctx.Err(), err) // shutting down: excluded from the counts
		}
		return p, err
	})
	if err != nil {
		return r.fetchFailed(ctx, err)
	}
	r.mu.Lock()
	r.status.ConsecutiveFailures = 0
	r.mu.Unlock()

	if len(page.Declarations) == 0 && page.Next == cursor {
		// Nothing new and nowhere to move: nothing to commit. A partner that says "more"
		// without moving would otherwise be asked again in a tight loop.
		if page.More {
			r.cfg.Logger.Warn("pull: partner reports more but returned an empty page at the same cursor", "partner", r.name, "cursor", cursor)
		}
		r.committed(page)
		return r.cfg.PollInterval
	}
	if _, err := r.sink.Ingest(ctx, page.Declarations); err != nil {
		return r.failed(ctx, "ingest", err)
	}
	// The batch is committed: save its cursor even if Shutdown cancels ctx meanwhile, so the
	// cursor goes with its commit (bounded, so a hung store cannot hold Shutdown forever).
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.LeaseTTL)
	err = r.st.SaveCursor(saveCtx, r.name, page.Next, fence)
	cancel()
	if errs.Is(err, errs.Conflict) {
		// Another replica took the lease: it will redo this page; stop until we hold it again.
		r.cfg.Logger.Warn("pull: lease lost to another replica; stopped pulling", "partner", r.name, "err", err)
		r.noteError(err)
		r.setHolding(false, 0)
		return r.cfg.LeaseTTL / 3
	}
	if err != nil {
		return r.failed(ctx, "save cursor", err)
	}
	r.committed(page)
	if page.More {
		return 0
	}
	return r.cfg.PollInterval
}

// renew takes or renews the lease and records whether this runner holds it. A lease this
// runner renewed less than LeaseTTL/3 ago is not asked for again: it has two thirds of its
// time left, and should another replica take it over, the fence refuses this runner's next
// cursor. During a catch-up a cycle takes a fraction of a second, and every renewal is a
// store write that the cycle would wait for.
func (r *Runner) renew(ctx context.Context) (bool, error) {
	now := r.cfg.Now()
	if r.Status().HoldingLease && !r.renewed.IsZero() && now.Sub(r.renewed) < r.cfg.LeaseTTL/3 {
		return true, nil
	}
	token, held, err := r.st.Lease(ctx, r.name, r.cfg.Holder, r.cfg.LeaseTTL)
	if err != nil {
		return false, err
	}
	r.renewed = time.Time{}
	if held {
		r.renewed = now // the lease runs from no earlier than this
	}
	r.setHolding(held, token)
	return held, nil
}

func (r *Runner) setHolding(held bool, token uint64) {
	r.mu.Lock()
	changed := r.status.HoldingLease != held
	r.status.HoldingLease = held
	r.fence = token
	r.mu.Unlock()
	if !changed {
		return
	}
	r.cfg.Logger.Info("pull: lease", "partner", r.name, "holder", r.cfg.Holder, "holding", held, "fence", token)
	if f := r.cfg.Observer.LeaseChanged; f != nil {
		f(r.name, held)
	}
}

// fetchFailed decides the wait after a failed fetch.
func (r *Runner) fetchFailed(ctx context.Context, err error) time.Duration {
	if ctx.Err() != nil {
		return 0
	}
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		// The breaker refused without calling the partner: wait until it lets a trial through.
		return r.cfg.Breaker.Timeout
	}
	r.mu.Lock()
	r.status.ConsecutiveFailures++
	n := r.status.ConsecutiveFailures
	r.mu.Unlock()
	kind := errs.KindOf(err)
	if f := r.cfg.Observer.FetchFailed; f != nil {
		f(r.name, kind, n)
	}
	if d, ok := adapters.RetryAfter(err); ok {
		r.noteError(err)
		r.cfg.Logger.Warn("pull: partner asks to retry later", "partner", r.name, "after", d, "err", err)
		return max(d, 0)
	}
	if kind == errs.Permission || kind == errs.Unauthenticated {
		r.noteError(err)
		r.cfg.Logger.Error("pull: partner refused our credentials", "partner", r.name, "err", err)
		return r.cfg.BackoffMax
	}
	return r.failed(ctx, "fetch", err)
}

// failed records err and returns the back-off.
func (r *Runner) failed(ctx context.Context, stage string, err error) time.Duration {
	if ctx.Err() != nil {
		return 0
	}
	n := r.noteError(err)
	d := r.cfg.backoff(n)
	r.cfg.Logger.Warn("pull: "+stage+" failed", "partner", r.name, "kind", errs.KindOf(err).String(), "retry_in", d, "err", err)
	return d
}

// noteError records err as the last error and returns the failures in a row.
func (r *Runner) noteError(err error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	r.status.LastError = err.Error()
	r.status.LastErrorKind = errs.KindOf(err)
	return r.attempts
}

func (r *Runner) committed(page adapters.Page) {
	now := r.cfg.Now()
	var newest time.Time
	for _, d := range page.Declarations {
		if d.DeclaredAt.After(newest) {
			newest = d.DeclaredAt
		}
	}
	var lag time.Duration
	if !newest.IsZero() {
		lag = max(now.Sub(newest), 0)
	}
	r.mu.Lock()
	r.attempts = 0
	r.status.Cursor = page.Next
	r.status.LastSuccess = now
	r.status.LastError = ""
	r.status.LastErrorKind = errs.Other
	r.status.Pulled += int64(len(page.Declarations))
	r.mu.Unlock()
	r.cfg.Logger.Debug("pull: committed", "partner", r.name, "declarations", len(page.Declarations), "cursor", page.Next, "more", page.More)
	if f := r.cfg.Observer.Committed; f != nil {
		f(r.name, len(page.Declarations), lag)
	}
}

// wait waits d, in steps of at most LeaseTTL/3 while holding the lease so that it is renewed
// in time. It returns false when ctx ends, and returns early (true) if the lease is lost.
func (r *Runner) wait(ctx context.Context, d time.Duration) bool {
	for d > 0 {
		step := d
		holding := r.Status().HoldingLease
		if holding && step > r.cfg.LeaseTTL/3 {
			step = r.cfg.LeaseTTL / 3
		}
		select {
		case <-ctx.Done():
			return false
		case <-r.cfg.After(step):
		}
		d -= step
		if d > 0 && holding {
			if held, err := r.renew(ctx); err == nil && !held {
				return ctx.Err() == nil
			}
		}
	}
	return ctx.Err() == nil
}
