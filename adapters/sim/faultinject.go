package sim

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults says how a simulated partner misbehaves. Each request draws at most one of the
// error, time-out and 429 faults (in that order of the draw); an answered request may then be
// truncated. The draws are deterministic given the seed and the order requests arrive in.
type Faults struct {
	ErrorRate     float64       // share of requests answered 500
	TimeoutRate   float64       // share of requests that hang until the client gives up
	RateLimitRate float64       // share of requests answered 429 with Retry-After
	RetryAfter    time.Duration // the Retry-After of a 429 or of a down partner's 503; default 1 s
	TruncateRate  float64       // share of answers whose body is cut in the middle
	Latency       time.Duration // added before every answer
	DownFrom      time.Time     // from this instant (by ServerConfig.Now) ...
	DownUntil     time.Time     // ... until this one, every request is answered 503
}

// down reports whether the partner is down at now.
func (f Faults) down(now time.Time) bool {
	return !f.DownFrom.IsZero() && !now.Before(f.DownFrom) && (f.DownUntil.IsZero() || now.Before(f.DownUntil))
}

// PartnerStats counts what one simulated partner answered.
type PartnerStats struct {
	Requests    int
	OK          int // answered in full (truncated ones not included)
	Errors      int // 500 by ErrorRate
	Timeouts    int
	RateLimited int
	Truncated   int
	Down        int // 503 while down
	NotFound    int // 404: an unknown CCCD at the register, an unknown path
	Refused     int // 400 or 401: the client's request was wrong
}

// faulty wraps a partner's handler with its faults.
type faulty struct {
	name   string
	faults Faults
	next   http.Handler
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	done   <-chan struct{} // closed at Shutdown: hung requests return
	hung   chan struct{}   // tests only: told when a request starts hanging

	mu    sync.Mutex
	rng   *rand.Rand
	stats PartnerStats
}

func newFaulty(name string, seed int64, f Faults, next http.Handler, now func() time.Time, sleep func(context.Context, time.Duration) error, done <-chan struct{}) *faulty {
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	var h uint64
	for _, c := range name {
		h = h*31 + uint64(c)
	}
	return &faulty{name: name, faults: f, next: next, now: now, sleep: sleep, done: done, rng: rand.New(rand.NewPCG(uint64(seed), h))}
}

type verdict int

const (
	serve verdict = iota
	fail
	hang
	limit
	truncate
	unavailable
)

func (h *faulty) decide() verdict {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Requests++
	if h.faults.down(h.now()) {
		h.stats.Down++
		return unavailable
	}
	u := h.rng.Float64()
	f := h.faults
	switch {
	case u < f.ErrorRate:
		h.stats.Errors++
		return fail
	case u < f.ErrorRate+f.TimeoutRate:
		h.stats.Timeouts++
		return hang
	case u < f.ErrorRate+f.TimeoutRate+f.RateLimitRate:
		h.stats.RateLimited++
		return limit
	}
	if h.rng.Float64() < f.TruncateRate {
		return truncate
	}
	return serve
}

func (h *faulty) count(fn func(*PartnerStats)) {
	h.mu.Lock()
	fn(&h.stats)
	h.mu.Unlock()
}

func (h *faulty) Stats() PartnerStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

func (h *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := h.decide()
	if v == unavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(h.faults.RetryAfter.Round(time.Second)/time.Second)))
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the partner is down for maintenance")
		return
	}
	if h.faults.Latency > 0 {
		if err := h.sleep(r.Context(), h.faults.Latency); err != nil {
			return
		}
	}
	switch v {
	case fail:
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	case hang:
		if h.hung != nil {
			h.hung <- struct{}{}
		}
		select {
		case <-r.Context().Done():
		case <-h.done:
		}
		return
	case limit:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.faults.RetryAfter.Round(time.Second)/time.Second))))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests")
		return
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.next.ServeHTTP(rec, r)
	for k, vs := range rec.header {
		w.Header()[k] = vs
	}
	body := rec.body.Bytes()
	switch {
	case rec.status == http.StatusNotFound:
		h.count(func(s *PartnerStats) { s.NotFound++ })
	case rec.status >= 400:
		h.count(func(s *PartnerStats) { s.Refused++ })
	case v == truncate:
		body = body[:len(body)/2]
		h.count(func(s *PartnerStats) { s.Truncated++ })
	default:
		h.count(func(s *PartnerStats) { s.OK++ })
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// recorder buffers a handler's answer so that it can be truncated.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// writeError answers with a small JSON error body.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":{"code":"` + code + `","message":"` + message + `"}}` + "\n"))
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
