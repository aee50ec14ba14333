package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/canonical/errs"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// sleeper records the waits asked of it and returns at once.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

func getFeed(t *testing.T, ctx context.Context, s *Servers) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.NCOVIURL()+"/api/v1/declarations?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestFaultsDoWhatTheySay(t *testing.T) {
	epoch := serverPop().Config.Epoch
	for _, tc := range []struct {
		name   string
		faults Faults
		status int
		check  func(t *testing.T, resp *http.Response, body []byte, st PartnerStats, sl *sleeper)
	}{
		{"server error", Faults{ErrorRate: 1}, http.StatusInternalServerError, func(t *testing.T, _ *http.Response, _ []byte, st PartnerStats, _ *sleeper) {
			if st.Errors != 1 {
				t.Errorf("stats %+v", st)
			}
		}},
		{"rate limited", Faults{RateLimitRate: 1, RetryAfter: 7 * time.Second}, http.StatusTooManyRequests, func(t *testing.T, resp *http.Response, _ []byte, st PartnerStats, _ *sleeper) {
			if resp.Header.Get("Retry-After") != "7" || st.RateLimited != 1 {
				t.Errorf("Retry-After %q, stats %+v", resp.Header.Get("Retry-After"), st)
			}
		}},
		// A truncated body still comes with 200: only reading it shows the damage.
		{"truncated", Faults{TruncateRate: 1}, http.StatusOK, func(t *testing.T, _ *http.Response, body []byte, st PartnerStats, _ *sleeper) {
			if json.Valid(body) || st.Truncated != 1 || st.OK != 0 {
				t.Errorf("body valid JSON %v, stats %+v", json.Valid(body), st)
			}
		}},
		{"latency", Faults{Latency: 3 * time.Second}, http.StatusOK, func(t *testing.T, _ *http.Response, body []byte, st PartnerStats, sl *sleeper) {
			if !slices.Equal(sl.Waits(), []time.Duration{3 * time.Second}) || !json.Valid(body) || st.OK != 1 {
				t.Errorf("waits %v, stats %+v", sl.Waits(), st)
			}
		}},
		{"down now", Faults{DownFrom: epoch.Add(-time.Minute), DownUntil: epoch.Add(time.Minute), RetryAfter: 60 * time.Second}, http.StatusServiceUnavailable, func(t *testing.T, resp *http.Response, _ []byte, st PartnerStats, _ *sleeper) {
			if resp.Header.Get("Retry-After") != "60" || st.Down != 1 {
				t.Errorf("Retry-After %q, stats %+v", resp.Header.Get("Retry-After"), st)
			}
		}},
		// Down until the clock's instant: the window is half-open, so it is up again.
		{"down before", Faults{DownFrom: epoch.Add(-time.Hour), DownUntil: epoch}, http.StatusOK, nil},
		{"down later", Faults{DownFrom: epoch.Add(time.Second)}, http.StatusOK, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sl := &sleeper{}
			clk := &clock{t: epoch}
			s := startServers(t, serverPop(), ServerConfig{NCOVI: tc.faults, Now: clk.Now, Sleep: sl.Sleep})
			resp, body, err := getFeed(t, context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%s, want %d", resp.Status, tc.status)
			}
			if tc.check != nil {
				tc.check(t, resp, body, s.Stats()["ncovi"], sl)
			}
		})
	}
}

// TestDownBetweenTwoInstants moves the injected clock through a down window.
func TestDownBetweenTwoInstants(t *testing.T) {
	epoch := serverPop().Config.Epoch
	clk := &clock{t: epoch}
	s := startServers(t, serverPop(), ServerConfig{Now: clk.Now, Tokhaiyte: Faults{DownFrom: epoch.Add(time.Hour), DownUntil: epoch.Add(2 * time.Hour)}})
	for _, step := range []struct {
		at     time.Duration
		status int
	}{{0, 200}, {time.Hour, 503}, {90 * time.Minute, 503}, {2 * time.Hour, 200}} {
		clk.Set(epoch.Add(step.at))
		if resp, _ := getCSV(t, s, epoch.Add(-time.Hour), epoch, testKey); resp.StatusCode != step.status {
			t.Errorf("at +%v: %s, want %d", step.at, resp.Status, step.status)
		}
	}
}

// TestTimeoutHangsUntilTheClientGivesUp: the partner never answers; the client's own deadline
// ends the request, and the NCOVI adapter calls that transient.
func TestTimeoutHangsUntilTheClientGivesUp(t *testing.T) {
	s := startServers(t, serverPop(), ServerConfig{NCOVI: Faults{TimeoutRate: 1}})
	s.ncovi.hung = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		src, err := ncovi.New(ncovi.Config{BaseURL: s.NCOVIURL(), Token: testToken}, http.DefaultClient)
		if err != nil {
			done <- err
			return
		}
		_, err = src.Fetch(ctx, "")
		done <- err
	}()
	select {
	case <-s.ncovi.hung:
	case <-time.After(30 * time.Second):
		t.Fatal("the request never reached the partner")
	}
	select {
	case err := <-done:
		t.Fatalf("answered while hanging: %v", err)
	default:
	}
	cancel() // the client gives up
	select {
	case err := <-done:
		if !errs.Is(err, errs.Transient) && !errors.Is(err, context.Canceled) {
			t.Errorf("gave up with %v, want a transient error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the request did not end when the client gave up")
	}
	if st := s.Stats()["ncovi"]; st.Timeouts != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestFaultsAreDeterministic: the same seed gives the same sequence of answers.
func TestFaultsAreDeterministic(t *testing.T) {
	run := func(seed int64) []int {
		s := startServers(t, serverPop(), ServerConfig{Seed: seed, NCOVI: Faults{ErrorRate: 0.3, RateLimitRate: 0.2, TruncateRate: 0.2}})
		var out []int
		for i := 0; i < 40; i++ {
			resp, body, err := getFeed(t, context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			code := resp.StatusCode
			if code == http.StatusOK && !json.Valid(body) {
				code = 299 // truncated
			}
			out = append(out, code)
		}
		return out
	}
	a, b, c := run(5), run(5), run(6)
	if !slices.Equal(a, b) {
		t.Errorf("seed 5 gave %v then %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 5 and 6 gave the same answers %v", a)
	}
	kinds := map[int]bool{}
	for _, code := range a {
		kinds[code] = true
	}
	if len(kinds) != 4 {
		t.Errorf("answers %v: want 200, 299 (truncated), 429 and 500 all to occur", a)
	}
}
