package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/adapters/internal/partnerhttp"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// PushStats is what the Bluezone pusher sent and what the gateway answered.
type PushStats struct {
	Batches    int // batches delivered (re-sends included)
	Resent     int // batches delivered a second time
	Items      int // item deliveries answered
	Accepted   int
	Duplicate  int // re-deliveries of accepted records
	Rejected   int
	Retries    int // attempts repeated after a 5xx, a 429 or a failed connection
	ByReason   map[canonical.Reason]int
	Results    []PushResult  // one per item delivery, in order
	Mismatches int           // answers that differ from the ground truth's expected outcome
	Elapsed    time.Duration // from the first push to the last answer, by ServerConfig.Now
}

// PushResult is the gateway's answer for one delivered item.
type PushResult struct {
	BatchID  string
	RecordID string
	Delivery int // 1 for the first delivery, 2 for a re-sent batch
	Status   Outcome
	QRID     string
	Reasons  []canonical.Reason
}

// pushResponse is the webhook's answer (partner-formats.md).
type pushResponse struct {
	BatchId string `json:"BatchId"`
	Results []struct {
		DeclarationId string `json:"DeclarationId"`
		Status        string `json:"Status"`
		QrId          string `json:"QrId"`
		Reasons       []struct {
			Code string `json:"Code"`
		} `json:"Reasons"`
	} `json:"Results"`
}

// PushBluezone pushes every Bluezone record to the gateway's webhook at
// {gatewayURL}/partners/bluezone/v1/declarations, batch by batch as the population's plan says
// (re-sent batches twice, right after the first answer), signed with secret, at
// ServerConfig.BluezoneRate declarations per second, by ServerConfig.BluezoneWorkers
// concurrent senders (default 1: in plan order). Results are in plan order either way. A 5xx, a 429 or a failed connection is retried with exponential back-off (honouring
// Retry-After) up to BluezoneAttempts times; a 401, 400 or 413 stops the push with an error
// (the configuration or the data is wrong, and retrying cannot help).
func (s *Servers) PushBluezone(ctx context.Context, gatewayURL string, secret []byte) (PushStats, error) {
	began := s.cfg.Now()
	url := strings.TrimSuffix(gatewayURL, "/") + bluezone.Path
	batches := s.pop.batches
	workers := min(max(1, s.cfg.BluezoneWorkers), max(1, len(batches)))
	done := make([]batchPush, len(batches))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				done[i] = s.pushOne(ctx, batches[i], url, secret, workers)
				if done[i].err != nil {
					cancel()
				}
			}
		}()
	}
feed:
	for i := range batches {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()

	// The answers, merged in the plan's order whatever the workers' order was.
	expected := map[string]*Record{}
	for _, r := range s.pop.Records {
		if r.Platform == canonical.PlatformBluezone {
			expected[r.RecordID] = r
		}
	}
	stats := PushStats{ByReason: map[canonical.Reason]int{}, Elapsed: s.cfg.Now().Sub(began)}
	var firstErr error
	for _, bp := range done {
		stats.Batches += bp.batches
		stats.Resent += bp.resent
		stats.Retries += bp.retries
		for _, pr := range bp.results {
			stats.Items++
			switch pr.Status {
			case OutcomeAccepted:
				stats.Accepted++
			case OutcomeDuplicate:
				stats.Duplicate++
			default:
				stats.Rejected++
				for _, reason := range uniqueReasons(pr.Reasons) {
					stats.ByReason[reason]++
				}
			}
			if !matches(expected[pr.RecordID], pr) {
				stats.Mismatches++
			}
		}
		stats.Results = append(stats.Results, bp.results...)
		if bp.err != nil && firstErr == nil && !errors.Is(bp.err, context.Canceled) {
			firstErr = bp.err
		}
	}
	if firstErr == nil && ctx.Err() != nil && stats.Batches < len(batches) {
		firstErr = ctx.Err()
	}
	return stats, firstErr
}

// batchPush is what pushing one batch of the plan gave.
type batchPush struct {
	batches, resent, retries int
	results                  []PushResult
	err                      error
}

// pushOne delivers one batch (twice when the plan re-sends it), pacing as one of workers.
func (s *Servers) pushOne(ctx context.Context, b Batch, url string, secret []byte, workers int) batchPush {
	const op = "sim.PushBluezone"
	var out batchPush
	items := make([]bluezone.Item, len(b.Records))
	for i, ri := range b.Records {
		items[i] = s.pop.BluezoneItem(s.pop.Records[ri])
	}
	body, err := json.Marshal(bluezone.Batch{BatchId: b.ID, Items: items})
	if err != nil {
		out.err = errs.E(errs.Other, op, err)
		return out
	}
	deliveries := 1
	if b.Resend {
		deliveries = 2
	}
	for d := 1; d <= deliveries; d++ {
		if err := s.pace(ctx, len(items)*workers); err != nil {
			out.err = err
			return out
		}
		resp, retries, err := s.pushBatch(ctx, url, secret, body)
		out.retries += retries
		if err != nil {
			out.err = fmt.Errorf("batch %s: %w", b.ID, err)
			return out
		}
		out.batches++
		if d == 2 {
			out.resent++
		}
		if len(resp.Results) != len(items) {
			out.err = errs.E(errs.Invalid, op, fmt.Errorf("batch %s: %d results for %d items", b.ID, len(resp.Results), len(items)))
			return out
		}
		for _, res := range resp.Results {
			pr := PushResult{BatchID: b.ID, RecordID: res.DeclarationId, Delivery: d, Status: Outcome(res.Status), QRID: res.QrId}
			for _, reason := range res.Reasons {
				pr.Reasons = append(pr.Reasons, canonical.Reason(reason.Code))
			}
			out.results = append(out.results, pr)
		}
	}
	return out
}

// matches reports whether an answer is the one the ground truth expects: accepted for a valid
// record (duplicate on a re-sent batch), rejected with exactly its reasons for a wrong one
// (again on a re-sent batch: a retry after a lost answer must still say what is wrong).
func matches(r *Record, pr PushResult) bool {
	if r == nil {
		return false
	}
	want := r.Outcome()
	if pr.Delivery == 2 && want == OutcomeAccepted {
		want = OutcomeDuplicate
	}
	if pr.Status != want {
		return false
	}
	if r.Fault == "" {
		return len(pr.Reasons) == 0
	}
	got := uniqueReasons(pr.Reasons)
	slices.Sort(got)
	return slices.Equal(got, r.Reasons)
}

func uniqueReasons(rs []canonical.Reason) []canonical.Reason {
	var out []canonical.Reason
	for _, r := range rs {
		dup := false
		for _, o := range out {
			dup = dup || o == r
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// pace waits so that items go out at the configured rate, and while the pusher is down.
func (s *Servers) pace(ctx context.Context, items int) error {
	f := s.cfg.Bluezone
	for f.down(s.cfg.Now()) {
		wait := time.Second
		if !f.DownUntil.IsZero() {
			wait = max(time.Millisecond, f.DownUntil.Sub(s.cfg.Now()))
		}
		if err := s.cfg.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	d := f.Latency
	if s.cfg.BluezoneRate > 0 {
		d += time.Duration(float64(items) / s.cfg.BluezoneRate * float64(time.Second))
	}
	if d > 0 {
		return s.cfg.Sleep(ctx, d)
	}
	return ctx.Err()
}

// pushBatch delivers one signed body, retrying what retrying can fix.
func (s *Servers) pushBatch(ctx context.Context, url string, secret, body []byte) (pushResponse, int, error) {
	const op = "sim.PushBluezone"
	backoff := 100 * time.Millisecond
	retries := 0
	var last error
	for attempt := 1; attempt <= s.cfg.BluezoneAttempts; attempt++ {
		if attempt > 1 {
			retries++
			wait := backoff
			var ra *retryAfter
			if errors.As(last, &ra) {
				wait = max(wait, ra.after)
			}
			if err := s.cfg.Sleep(ctx, wait); err != nil {
				return pushResponse{}, retries, err
			}
			backoff = min(2*backoff, 10*time.Second)
		}
		resp, err := s.post(ctx, url, secret, body)
		if err == nil {
			return resp, retries, nil
		}
		if !errs.Is(err, errs.Transient) {
			return pushResponse{}, retries, err
		}
		last = err
		if ctx.Err() != nil {
			return pushResponse{}, retries, ctx.Err()
		}
	}
	return pushResponse{}, retries, errs.E(errs.Transient, op, fmt.Errorf("gave up after %d attempts: %w", s.cfg.BluezoneAttempts, last))
}

// retryAfter is a transient failure that said how long to wait.
type retryAfter struct {
	after time.Duration
	err   error
}

func (e *retryAfter) Error() string { return e.err.Error() }
func (e *retryAfter) Unwrap() error { return e.err }

func (s *Servers) post(ctx context.Context, url string, secret, body []byte) (pushResponse, error) {
	const op = "sim.PushBluezone"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return pushResponse{}, errs.E(errs.Invalid, op, err)
	}
	ts := bluezone.Timestamp(s.cfg.Now())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(bluezone.HeaderTimestamp, ts)
	req.Header.Set(bluezone.HeaderSignature, bluezone.Sign(secret, ts, body))
	resp, err := s.cfg.BluezoneClient.Do(req)
	if err != nil {
		return pushResponse{}, errs.E(errs.Transient, op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return pushResponse{}, errs.E(errs.Transient, op, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var out pushResponse
		if err := json.Unmarshal(data, &out); err != nil {
			return pushResponse{}, errs.E(errs.Transient, op, fmt.Errorf("unreadable answer: %w", err))
		}
		return out, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		cause := fmt.Errorf("gateway answered %s", resp.Status)
		if d, ok := partnerhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), s.cfg.Now()); ok {
			return pushResponse{}, errs.E(errs.Transient, op, &retryAfter{after: d, err: cause})
		}
		return pushResponse{}, errs.E(errs.Transient, op, cause)
	case resp.StatusCode == http.StatusUnauthorized:
		return pushResponse{}, errs.E(errs.Unauthenticated, op, fmt.Errorf("gateway answered %s: %s", resp.Status, errorCode(data)))
	}
	return pushResponse{}, errs.E(errs.Invalid, op, fmt.Errorf("gateway answered %s: %s", resp.Status, errorCode(data)))
}

// errorCode extracts the stable code of the gateway's JSON error body.
func errorCode(data []byte) string {
	var e struct {
		Error struct{ Code string } `json:"Error"`
	}
	_ = json.Unmarshal(data, &e)
	return e.Error.Code
}
