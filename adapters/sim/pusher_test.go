package sim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

var testSecret = []byte("bluezone-shared-secret-for-tests")

// validatingSink stands in for the gateway's ingest behind the real Bluezone webhook handler:
// it normalizes and validates, and answers duplicate for a valid record version it saw before
// (a wrong one is rejected again with its violations), as the gateway's ingest does.
type validatingSink struct {
	now  time.Time
	mu   sync.Mutex
	seen map[string]bool
}

func (s *validatingSink) Ingest(_ context.Context, batch []canonical.Declaration) ([]adapters.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]adapters.Result, len(batch))
	for i, d := range batch {
		d = canonical.Normalize(d)
		out[i].Violations = canonical.Validate(d, s.now)
		key := d.Source.RecordID + "@" + d.Source.Version
		switch {
		case out[i].Violations != nil:
			out[i].Outcome = "rejected"
		case s.seen[key]:
			out[i].Outcome = "duplicate"
		default:
			out[i].Outcome = "accepted"
		}
		s.seen[key] = true
	}
	return out, nil
}

func TestPushBluezone(t *testing.T) {
	pop := Generate(Config{Seed: 13, People: 1500, Declarations: 4500, WrongShare: 0.05, BatchSize: 100, ResendShare: 0.2})
	now := pop.Config.Epoch
	h, err := bluezone.NewHandler(bluezone.Config{Secret: testSecret, Now: func() time.Time { return now }}, &validatingSink{now: now, seen: map[string]bool{}})
	if err != nil {
		t.Fatal(err)
	}
	// The gateway is unavailable for its first two requests, then rate-limits the third.
	var requests atomic.Int64
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch requests.Add(1) {
		case 1, 2:
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		case 3:
			w.Header().Set("Retry-After", "4")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			h.ServeHTTP(w, r)
		}
	}))
	defer gateway.Close()
	sl := &sleeper{}
	s := startServers(t, pop, ServerConfig{Now: func() time.Time { return now }, Sleep: sl.Sleep, BluezoneRate: 1000})
	stats, err := s.PushBluezone(context.Background(), gateway.URL, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	sum := pop.GroundTruth().Summary.Platforms[canonical.PlatformBluezone]
	resent := 0
	for _, b := range pop.Batches() {
		if b.Resend {
			resent++
		}
	}
	if stats.Mismatches != 0 {
		t.Errorf("%d answers differ from the ground truth", stats.Mismatches)
	}
	if stats.Batches != len(pop.Batches())+resent || stats.Resent != resent || resent == 0 {
		t.Errorf("%d batches (%d re-sent), want %d (%d)", stats.Batches, stats.Resent, len(pop.Batches())+resent, resent)
	}
	if stats.Items != sum.Deliveries || stats.Accepted != sum.Accepted || stats.Duplicate != sum.Duplicates || stats.Rejected != sum.Rejected+sum.Redelivered {
		t.Errorf("answers %d (accepted %d, duplicate %d, rejected %d), want %+v", stats.Items, stats.Accepted, stats.Duplicate, stats.Rejected, sum)
	}
	if stats.Retries != 3 {
		t.Errorf("%d retries, want 3", stats.Retries)
	}
	// Waits: the pacing (one millisecond per item at 1,000 a second) and the back-off of the
	// first batch: 100 ms, 200 ms, then the 429's Retry-After of 4 s (more than 400 ms).
	var total time.Duration
	for _, w := range sl.Waits() {
		total += w
	}
	if want := time.Duration(sum.Deliveries)*time.Millisecond + 4300*time.Millisecond; total != want {
		t.Errorf("waited %v in all, want %v", total, want)
	}
}

func TestPushBluezoneWithAWrongSecretStops(t *testing.T) {
	pop := Generate(Config{Seed: 14, People: 100, Declarations: 300, BatchSize: 50})
	now := pop.Config.Epoch
	h, err := bluezone.NewHandler(bluezone.Config{Secret: testSecret, Now: func() time.Time { return now }}, &validatingSink{now: now, seen: map[string]bool{}})
	if err != nil {
		t.Fatal(err)
	}
	gateway := httptest.NewServer(h)
	defer gateway.Close()
	s := startServers(t, pop, ServerConfig{Now: func() time.Time { return now }, Sleep: (&sleeper{}).Sleep})
	stats, err := s.PushBluezone(context.Background(), gateway.URL, []byte("not-the-secret-not-the-secret!!!"))
	if !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("wrong secret: %v, want unauthenticated", err)
	}
	if stats.Batches != 0 || stats.Retries != 0 {
		t.Errorf("stats %+v", stats)
	}
}

// TestPushBluezoneConcurrently: four senders give the same answers, in the plan's order, as one.
func TestPushBluezoneConcurrently(t *testing.T) {
	pop := Generate(Config{Seed: 15, People: 800, Declarations: 2400, WrongShare: 0.05, BatchSize: 60, ResendShare: 0.2})
	now := pop.Config.Epoch
	push := func(workers int) PushStats {
		h, err := bluezone.NewHandler(bluezone.Config{Secret: testSecret, Now: func() time.Time { return now }}, &validatingSink{now: now, seen: map[string]bool{}})
		if err != nil {
			t.Fatal(err)
		}
		gateway := httptest.NewServer(h)
		defer gateway.Close()
		s := startServers(t, pop, ServerConfig{Now: func() time.Time { return now }, Sleep: (&sleeper{}).Sleep, BluezoneWorkers: workers, BluezoneRate: 500})
		stats, err := s.PushBluezone(context.Background(), gateway.URL, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		return stats
	}
	one, four := push(1), push(4)
	if one.Mismatches != 0 || four.Mismatches != 0 {
		t.Errorf("mismatches: %d with one sender, %d with four", one.Mismatches, four.Mismatches)
	}
	if len(one.Results) != len(four.Results) || one.Batches != four.Batches || one.Accepted != four.Accepted || one.Duplicate != four.Duplicate || one.Rejected != four.Rejected {
		t.Fatalf("one sender %+v, four %+v", one, four)
	}
	for i := range one.Results {
		a, b := one.Results[i], four.Results[i]
		if a.RecordID != b.RecordID || a.Delivery != b.Delivery || a.Status != b.Status {
			t.Fatalf("result %d: %+v with one sender, %+v with four", i, a, b)
		}
	}
}
