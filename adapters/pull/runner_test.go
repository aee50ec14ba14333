package pull

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

func TestCursorMovesOnlyAfterCommit(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	src := newSource(canonical.PlatformNCOVI, 5)
	sink := newSink()
	var cursorAtRetry string
	sink.fail = func(call int) error {
		switch call {
		case 1:
			return errs.Errorf(errs.Transient, "fakeSink.Ingest", "store unavailable")
		case 2:
			cursorAtRetry = st.cursor("ncovi")
		}
		return nil
	}
	var ev events
	cfg := testConfig("replica-a", clock)
	cfg.Observer = ev.observer()
	r := startRunner(t, clock, cfg, src, sink, st)

	clock.stepUntil(t, "all five records stored", func() bool { return st.cursor("ncovi") == "5" })

	// The failed batch was fetched again from the same cursor, and the cursor had not moved.
	if got, want := src.Calls(), []string{"", "", "2", "4"}; !slices.Equal(got, want) {
		t.Errorf("fetched cursors = %q, want %q", got, want)
	}
	if cursorAtRetry != "" {
		t.Errorf("cursor when the failed batch was redone = %q, want it unmoved (\"\")", cursorAtRetry)
	}
	if got := sink.stored(); got != 5 {
		t.Errorf("stored %d records, want 5", got)
	}
	// A sink failure backs off (half of BackoffBase with the fixed jitter) and never touches
	// the partner's breaker.
	if got := clock.Requested(); len(got) == 0 || got[0] != 500*time.Millisecond {
		t.Errorf("first wait = %v, want the 500ms back-off", got)
	}
	if b := ev.Breaker(); len(b) != 0 {
		t.Errorf("breaker changes = %v, want none", b)
	}
	s := r.Status()
	if s.Pulled != 5 || s.Cursor != "5" || !s.HoldingLease || s.Breaker != BreakerClosed || s.LastError != "" {
		t.Errorf("Status = %+v, want 5 pulled, cursor 5, holding, closed, no error", s)
	}
	if s.LastSuccess != clock.Now() && s.LastSuccess.IsZero() {
		t.Errorf("LastSuccess not set")
	}
}

// A catch-up pulls page after page without renewing the lease for each (every renewal is a
// store write the cycle waits for); it renews once a third of the lease has passed.
func TestCatchUpRenewsTheLeaseByTime(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	src := newSource(canonical.PlatformNCOVI, 10) // five pages, fetched back to back
	cfg := testConfig("replica-a", clock)
	cfg.LeaseTTL, cfg.PollInterval = 15*time.Second, 5*time.Second
	r := startRunner(t, clock, cfg, src, newSink(), st)

	clock.stepUntil(t, "all ten records stored", func() bool { return st.cursor("ncovi") == "10" })
	if got := st.leaseCalls(); got != 1 {
		t.Errorf("lease asked for %d times during a catch-up of five pages at one instant, want once", got)
	}
	// The poll interval is a third of the lease: the next cycle renews it.
	clock.stepUntil(t, "the lease renewed", func() bool { return st.leaseCalls() == 2 })
	if !r.Status().HoldingLease {
		t.Errorf("not holding the lease after renewing it")
	}
}

func TestRestartResumesFromStoredCursor(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	src := newSource(canonical.PlatformNCOVI, 4)
	sink := newSink()

	first := newRunner(t, clock, testConfig("replica-a", clock), src, sink, st)
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.stepUntil(t, "first run caught up", func() bool { return st.cursor("ncovi") == "4" })
	stop(t, clock, first)
	// Shutdown gives the lease up so the next holder need not wait for it to run out.
	if h := st.holder("ncovi"); h != "" {
		t.Errorf("lease holder after Shutdown = %q, want none", h)
	}

	src.add(3)
	callsBefore := len(src.Calls())
	startRunner(t, clock, testConfig("replica-a", clock), src, sink, st)
	clock.stepUntil(t, "second run caught up", func() bool { return st.cursor("ncovi") == "7" })

	if got, want := src.Calls()[callsBefore:], []string{"4", "6"}; !slices.Equal(got, want) {
		t.Errorf("after restart fetched %q, want %q (resume at the stored cursor)", got, want)
	}
	for _, b := range sink.Batches()[2:] {
		for _, id := range b {
			if id < "ncovi-4" {
				t.Errorf("record %s was delivered again after restart", id)
			}
		}
	}
}

func TestBreaker(t *testing.T) {
	t.Run("opens after N transient failures and stops calling the partner", func(t *testing.T) {
		clock := newClock()
		st := newState(clock.Now)
		src := newSource(canonical.PlatformNCOVI, 2)
		src.setFail(func(call int, _ string) error { return transient(call) })
		var ev events
		cfg := testConfig("replica-a", clock)
		cfg.Observer = ev.observer()
		r := startRunner(t, clock, cfg, src, newSink(), st)

		clock.stepUntil(t, "breaker open", func() bool { return r.Status().Breaker == BreakerOpen })
		// While open (Timeout is an hour) the runner keeps waiting and never calls the partner.
		for range 5 {
			clock.step(t)
		}
		if got := len(src.Calls()); got != 3 {
			t.Errorf("partner called %d times, want 3 (then the breaker refuses)", got)
		}
		s := r.Status()
		if s.ConsecutiveFailures != 3 || s.LastErrorKind != errs.Transient || st.cursor("ncovi") != "" {
			t.Errorf("Status = %+v, want 3 transient failures and no cursor", s)
		}
		if got, want := ev.Breaker(), []string{"closed>open"}; !slices.Equal(got, want) {
			t.Errorf("breaker changes = %v, want %v", got, want)
		}
		if !slices.Contains(clock.Requested(), time.Hour) {
			t.Errorf("waits %v do not include the breaker's 1h timeout", clock.Requested())
		}
	})

	t.Run("half-opens and closes when the partner recovers", func(t *testing.T) {
		clock := newClock()
		st := newState(clock.Now)
		src := newSource(canonical.PlatformNCOVI, 3)
		src.setFail(func(call int, _ string) error {
			if call <= 3 {
				return transient(call)
			}
			return nil
		})
		var ev events
		cfg := testConfig("replica-a", clock)
		cfg.Observer = ev.observer()
		// gobreaker measures its open period on the wall clock; a millisecond always passes
		// while the test steps the fake clock, so this waits on a condition, not on speed.
		cfg.Breaker.Timeout = time.Millisecond
		r := startRunner(t, clock, cfg, src, newSink(), st)

		clock.stepUntil(t, "caught up after recovery", func() bool { return st.cursor("ncovi") == "3" })
		if got, want := ev.Breaker(), []string{"closed>open", "open>half-open", "half-open>closed"}; !slices.Equal(got, want) {
			t.Errorf("breaker changes = %v, want %v", got, want)
		}
		if s := r.Status(); s.Breaker != BreakerClosed || s.ConsecutiveFailures != 0 || s.Pulled != 3 {
			t.Errorf("Status = %+v, want closed, 0 failures, 3 pulled", s)
		}
	})
}

func TestErrorsThatNeverTripTheBreaker(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantWait time.Duration // the wait after each failure
	}{
		// A page the adapter cannot decode as a whole says nothing about the partner being
		// up: back off (full jitter, fixed at one half here) without counting.
		{"undecodable page", errs.Errorf(errs.Invalid, "ncovi.Fetch", "decode page: unexpected field"), 500 * time.Millisecond},
		// A bad token: retrying soon cannot help, so wait the longest back-off.
		{"permission", errs.Errorf(errs.Permission, "ncovi.Fetch", "403 Forbidden"), time.Minute},
		{"unauthenticated", errs.Errorf(errs.Unauthenticated, "ncovi.Fetch", "401 Unauthorized"), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			st := newState(clock.Now)
			src := newSource(canonical.PlatformNCOVI, 2)
			const failures = 6 // twice the breaker's threshold
			src.setFail(func(call int, _ string) error {
				if call <= failures {
					return tt.err
				}
				return nil
			})
			var ev events
			cfg := testConfig("replica-a", clock)
			cfg.Observer = ev.observer()
			r := startRunner(t, clock, cfg, src, newSink(), st)

			clock.stepUntil(t, "six failures", func() bool { return r.Status().ConsecutiveFailures == failures })
			s := r.Status()
			if s.Breaker != BreakerClosed || s.LastErrorKind != errs.KindOf(tt.err) {
				t.Errorf("Status = %+v, want closed breaker and kind %v", s, errs.KindOf(tt.err))
			}
			if w := clock.Requested(); len(w) == 0 || w[0] != tt.wantWait {
				t.Errorf("waits = %v, want first %v", w, tt.wantWait)
			}
			clock.stepUntil(t, "recovered", func() bool { return st.cursor("ncovi") == "2" })
			if s := r.Status(); s.LastError != "" || s.ConsecutiveFailures != 0 {
				t.Errorf("after recovery Status = %+v, want the error cleared", s)
			}
			if b := ev.Breaker(); len(b) != 0 {
				t.Errorf("breaker changes = %v, want none", b)
			}
		})
	}
}

func TestInvalidDeclarationsNeverCountAgainstTheBreaker(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	src := newSource(canonical.PlatformNCOVI, 0)
	// Every record is undecodable: it travels in the page with its problems, the sink rejects
	// it, and the cursor moves on.
	for i := range 8 {
		src.records = append(src.records, canonical.Declaration{
			Source:   canonical.Source{Platform: canonical.PlatformNCOVI, RecordID: "bad-" + string(rune('a'+i)), Version: "1"},
			Problems: []canonical.Violation{{Field: "person.birth_date", Reason: canonical.ReasonMalformed, Message: "not a date"}},
		})
	}
	var ev events
	cfg := testConfig("replica-a", clock)
	cfg.Observer = ev.observer()
	r := startRunner(t, clock, cfg, src, newSink(), st)

	clock.stepUntil(t, "all pages committed", func() bool { return st.cursor("ncovi") == "8" })
	if s := r.Status(); s.Breaker != BreakerClosed || s.ConsecutiveFailures != 0 || s.Pulled != 8 {
		t.Errorf("Status = %+v, want closed, no failures, 8 pulled", s)
	}
	if b := ev.Breaker(); len(b) != 0 {
		t.Errorf("breaker changes = %v, want none", b)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	src := newSource(canonical.PlatformNCOVI, 2)
	src.setFail(func(call int, _ string) error {
		if call == 1 {
			return adapters.ErrRetryAfter("ncovi.Fetch", 7*time.Second, errors.New("429 Too Many Requests"))
		}
		return nil
	})
	startRunner(t, clock, testConfig("replica-a", clock), src, newSink(), st)

	clock.stepUntil(t, "committed", func() bool { return st.cursor("ncovi") == "2" })
	w := clock.Requested()
	if len(w) == 0 || w[0] != 7*time.Second {
		t.Errorf("waits = %v, want 7s (the partner's Retry-After) first", w)
	}
}

func TestOnlyTheLeaseHolderPulls(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	srcA := newSource(canonical.PlatformNCOVI, 4)
	srcB := newSource(canonical.PlatformNCOVI, 4)
	sink := newSink()

	a := startRunner(t, clock, testConfig("replica-a", clock), srcA, sink, st)
	clock.stepUntil(t, "a caught up", func() bool { return st.cursor("ncovi") == "4" })
	b := startRunner(t, clock, testConfig("replica-b", clock), srcB, sink, st)
	for range 6 {
		clock.step(t)
	}
	if n := len(srcB.Calls()); n != 0 {
		t.Errorf("replica-b fetched %d times without the lease", n)
	}
	if !a.Status().HoldingLease || b.Status().HoldingLease {
		t.Errorf("holding: a=%v b=%v, want only a", a.Status().HoldingLease, b.Status().HoldingLease)
	}

	// a goes away: b takes over at the stored cursor.
	stop(t, clock, a)
	srcB.add(2)
	clock.stepUntil(t, "b took over", func() bool { return st.cursor("ncovi") == "6" })
	if got := srcB.Calls(); got[0] != "4" {
		t.Errorf("b's first fetch at cursor %q, want the stored 4", got[0])
	}
	if !b.Status().HoldingLease {
		t.Error("b does not report holding the lease")
	}
}

func TestLongWaitsKeepTheLease(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	down := newSource(canonical.PlatformNCOVI, 2)
	down.setFail(func(call int, _ string) error { return transient(call) })
	standby := newSource(canonical.PlatformNCOVI, 2)
	cfg := testConfig("replica-a", clock)
	cfg.LeaseTTL = 15 * time.Second
	a := startRunner(t, clock, cfg, down, newSink(), st)
	clock.stepUntil(t, "breaker open", func() bool { return a.Status().Breaker == BreakerOpen })
	cfg.Holder = "replica-b"
	startRunner(t, clock, cfg, standby, newSink(), st)

	// An hour's wait for the breaker is taken in steps of LeaseTTL/3, renewing the lease each
	// time, so the standby never gets it while the holder is alive.
	for range 60 {
		clock.step(t)
	}
	if n := len(standby.Calls()); n != 0 {
		t.Errorf("the standby fetched %d times while the holder was waiting", n)
	}
	for _, w := range clock.Requested() {
		if w > 5*time.Second {
			t.Errorf("waited %v in one step, longer than LeaseTTL/3", w)
		}
	}
	if h := st.holder("ncovi"); h != "replica-a" {
		t.Errorf("holder = %q, want replica-a", h)
	}
}

func TestStaleFenceStopsTheLoser(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	src := newSource(canonical.PlatformNCOVI, 2)
	sink := newGatedSink()
	cfg := testConfig("replica-a", clock)
	r := startRunner(t, clock, cfg, src, sink, st)

	<-sink.entered
	// While a's batch is in the sink, its lease runs out and replica-b takes it.
	st.steal("ncovi", "replica-b", cfg.LeaseTTL)
	sink.gate <- nil

	clock.stepUntil(t, "a noticed", func() bool { return !r.Status().HoldingLease })
	if c := st.cursor("ncovi"); c != "" {
		t.Errorf("cursor = %q: the stale holder moved it", c)
	}
	if s := r.Status(); s.LastErrorKind != errs.Conflict {
		t.Errorf("LastErrorKind = %v, want conflict", s.LastErrorKind)
	}
	// b's lease is still valid for a few renewal steps of a: a does not pull.
	clock.step(t)
	if n := len(src.Calls()); n != 1 {
		t.Errorf("a fetched %d times after losing the lease, want 1", n)
	}

	// b dies without releasing; once its lease has run out a takes it back with a newer token.
	sink.ungate()
	clock.stepUntil(t, "a re-acquired and committed", func() bool { return st.cursor("ncovi") == "2" })
	if h := st.holder("ncovi"); h != "replica-a" {
		t.Errorf("holder = %q, want replica-a", h)
	}
}

func TestOnePartnerDownDoesNotStopAnother(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	down := newSource(canonical.PlatformNCOVI, 4)
	down.setFail(func(call int, _ string) error { return transient(call) })
	up := newSource(canonical.PlatformTokhaiyte, 6)
	sink := newSink()

	rDown := startRunner(t, clock, testConfig("replica-a", clock), down, sink, st)
	rUp := startRunner(t, clock, testConfig("replica-a", clock), up, sink, st)

	clock.stepUntil(t, "tokhaiyte caught up and ncovi's breaker open", func() bool {
		return st.cursor("tokhaiyte") == "6" && rDown.Status().Breaker == BreakerOpen
	})
	if s := rUp.Status(); s.Pulled != 6 || s.Breaker != BreakerClosed {
		t.Errorf("tokhaiyte Status = %+v, want 6 pulled, closed", s)
	}
	if c := st.cursor("ncovi"); c != "" {
		t.Errorf("ncovi cursor = %q, want none", c)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("the batch in flight commits with its cursor", func(t *testing.T) {
		clock := newClock()
		st := newState(clock.Now)
		sink := newGatedSink()
		r := newRunner(t, clock, testConfig("replica-a", clock), newSource(canonical.PlatformNCOVI, 2), sink, st)
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-sink.entered
		done := make(chan error, 1)
		go func() { done <- r.Shutdown(context.Background()) }()
		sink.gate <- nil // the sink committed the batch just as shutdown began
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if c := st.cursor("ncovi"); c != "2" {
			t.Errorf("cursor = %q, want 2: the committed batch keeps its cursor", c)
		}
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("second Shutdown: %v", err)
		}
		if err := r.Start(context.Background()); !errs.Is(err, errs.Conflict) {
			t.Errorf("Start after Shutdown = %v, want a conflict", err)
		}
	})

	t.Run("a batch the sink gave up on is not committed", func(t *testing.T) {
		clock := newClock()
		st := newState(clock.Now)
		sink := newGatedSink()
		r := newRunner(t, clock, testConfig("replica-a", clock), newSource(canonical.PlatformNCOVI, 2), sink, st)
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-sink.entered
		done := make(chan error, 1)
		go func() { done <- r.Shutdown(context.Background()) }()
		sink.gate <- errs.E(errs.Transient, "fakeSink.Ingest", context.Canceled)
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if c := st.cursor("ncovi"); c != "" {
			t.Errorf("cursor = %q, want none: the batch is fetched again after restart", c)
		}
	})

	t.Run("before Start", func(t *testing.T) {
		r, err := New(testConfig("replica-a", newClock()), newSource(canonical.PlatformNCOVI, 0), newSink(), newState(time.Now))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown before Start: %v", err)
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	clock := newClock()
	src, sink, st := newSource(canonical.PlatformNCOVI, 0), newSink(), newState(clock.Now)
	tests := []struct {
		name   string
		edit   func(*Config)
		field  string // named in the error
		source adapters.Source
	}{
		{"no holder", func(c *Config) { c.Holder = "" }, "Holder", src},
		{"negative poll interval", func(c *Config) { c.PollInterval = -time.Second }, "PollInterval", src},
		{"negative lease", func(c *Config) { c.LeaseTTL = -time.Second }, "LeaseTTL", src},
		{"max below base", func(c *Config) { c.BackoffBase, c.BackoffMax = time.Minute, time.Second }, "BackoffMax", src},
		{"no source", func(*Config) {}, "source", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("replica-a", clock)
			tt.edit(&cfg)
			_, err := New(cfg, tt.source, sink, st)
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("New = %v, want an invalid error", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestBackoffHasFullJitterAndACeiling(t *testing.T) {
	cfg := Config{BackoffBase: time.Second, BackoffMax: time.Minute, Rand: func() float64 { return 0.999999 }}
	tests := []struct {
		n    int
		want time.Duration // the ceiling; the wait is just below it
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{6, 32 * time.Second},
		{7, time.Minute},   // 64 s is over the maximum
		{200, time.Minute}, // no overflow for long outages
	}
	for _, tt := range tests {
		got := cfg.backoff(tt.n)
		if got > tt.want || got < tt.want*99/100 {
			t.Errorf("backoff(%d) = %v, want just under %v", tt.n, got, tt.want)
		}
	}
	cfg.Rand = func() float64 { return 0 }
	if got := cfg.backoff(5); got != 0 {
		t.Errorf("backoff with jitter 0 = %v, want 0 (full jitter)", got)
	}
}

// flakyState fails the named operation a number of times before it works again.
type flakyState struct {
	*memState
	op    string
	fails int
}

func (s *flakyState) fail(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.op != op || s.fails == 0 {
		return nil
	}
	s.fails--
	return errs.Errorf(errs.Transient, "flakyState."+op, "store unavailable")
}

func (s *flakyState) Lease(ctx context.Context, name, holder string, ttl time.Duration) (uint64, bool, error) {
	if err := s.fail("lease"); err != nil {
		return 0, false, err
	}
	return s.memState.Lease(ctx, name, holder, ttl)
}

func (s *flakyState) Cursor(ctx context.Context, partner string) (string, error) {
	if err := s.fail("cursor"); err != nil {
		return "", err
	}
	return s.memState.Cursor(ctx, partner)
}

func (s *flakyState) SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error {
	if err := s.fail("save"); err != nil {
		return err
	}
	return s.memState.SaveCursor(ctx, partner, cursor, fence)
}

func TestStoreFailuresBackOffAndLoseNothing(t *testing.T) {
	for _, op := range []string{"lease", "cursor", "save"} {
		t.Run(op, func(t *testing.T) {
			clock := newClock()
			st := &flakyState{memState: newState(clock.Now), op: op, fails: 2}
			src := newSource(canonical.PlatformNCOVI, 5)
			sink := newSink()
			var ev events
			cfg := testConfig("replica-a", clock)
			cfg.Observer = ev.observer()
			r := startRunner(t, clock, cfg, src, sink, st)

			clock.stepUntil(t, "caught up", func() bool { return st.cursor("ncovi") == "5" })
			// Two failures in a row: the jittered back-off doubles (one half of 1 s, then of 2 s).
			if w := clock.Requested(); len(w) < 2 || w[0] != 500*time.Millisecond || w[1] != time.Second {
				t.Errorf("waits = %v, want 500ms then 1s first", w)
			}
			if got := sink.stored(); got != 5 {
				t.Errorf("stored %d records, want 5", got)
			}
			if s := r.Status(); s.Pulled != 5 || s.Breaker != BreakerClosed || s.LastError != "" {
				t.Errorf("Status = %+v, want 5 pulled, closed, error cleared", s)
			}
			if b := ev.Breaker(); len(b) != 0 {
				t.Errorf("a store failure changed the partner's breaker: %v", b)
			}
		})
	}
}

func TestObserverSeesPulledAndLag(t *testing.T) {
	clock := newClock() // 08:00:00; the records were declared at 07:00:00, 07:00:01, 07:00:02
	st := newState(clock.Now)
	var ev events
	cfg := testConfig("replica-a", clock)
	cfg.Observer = ev.observer()
	startRunner(t, clock, cfg, newSource(canonical.PlatformNCOVI, 3), newSink(), st)
	clock.stepUntil(t, "caught up", func() bool { return st.cursor("ncovi") == "3" })

	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.pulled != 3 {
		t.Errorf("observer saw %d pulled, want 3", ev.pulled)
	}
	// The lag is measured from the newest record of each page.
	want := []time.Duration{time.Hour - time.Second, time.Hour - 2*time.Second}
	if !slices.Equal(ev.lags[:2], want) {
		t.Errorf("lags = %v, want %v first", ev.lags, want)
	}
}

// stuckSource always answers an empty page at the cursor it was given, claiming more.
type stuckSource struct{ fakeSource }

func (s *stuckSource) Fetch(_ context.Context, cursor string) (adapters.Page, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, cursor)
	return adapters.Page{Next: cursor, More: true}, nil
}

func TestAnEmptyPageThatDoesNotMoveWaitsAndWritesNothing(t *testing.T) {
	clock := newClock()
	st := newState(clock.Now)
	src := &stuckSource{fakeSource{name: canonical.PlatformNCOVI}}
	sink := newSink()
	startRunner(t, clock, testConfig("replica-a", clock), src, sink, st)
	for range 3 {
		clock.step(t)
	}
	clock.idle(t)
	if w := clock.Requested(); len(w) != 4 || slices.ContainsFunc(w, func(d time.Duration) bool { return d != 5*time.Second }) {
		t.Errorf("waits = %v, want the 5s poll interval after each empty page", w)
	}
	if n := len(sink.Batches()); n != 0 {
		t.Errorf("sink called %d times for empty pages", n)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.saves != 0 {
		t.Errorf("cursor saved %d times though it never moved", st.saves)
	}
}
