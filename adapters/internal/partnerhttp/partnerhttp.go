// Package partnerhttp turns a pull partner's HTTP answers into errors with the kinds the pull
// runner acts on.
package partnerhttp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical/errs"
)

// Do sends req with client and returns the response when its status is 2xx. Otherwise it
// closes the body and returns an error whose kind says what the runner should do:
//   - the connection failed or timed out, 5xx, 408: errs.Transient (counts against the breaker);
//   - 429: errs.Transient carrying the Retry-After duration (adapters.RetryAfter), if given;
//   - 401, 403: errs.Permission (the partner configuration is wrong; retrying fast will not help);
//   - any other status: errs.Invalid.
func Do(client *http.Client, req *http.Request, op string, now func() time.Time) (*http.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, errs.E(errs.Transient, op, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	// Drain a little so the connection can be reused; never echo the body (it may hold data).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	cause := fmt.Errorf("partner answered %s", resp.Status)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now()); ok {
			return nil, adapters.ErrRetryAfter(op, d, cause)
		}
		return nil, errs.E(errs.Transient, op, cause)
	case resp.StatusCode == http.StatusServiceUnavailable:
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now()); ok {
			return nil, adapters.ErrRetryAfter(op, d, cause)
		}
		return nil, errs.E(errs.Transient, op, cause)
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout:
		return nil, errs.E(errs.Transient, op, cause)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return nil, errs.E(errs.Permission, op, cause)
	}
	return nil, errs.E(errs.Invalid, op, cause)
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date (relative to now).
// A date in the past is a zero wait.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > 24*60*60 {
			secs = 24 * 60 * 60 // a partner's typo must not stop us for years
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		if d > 24*time.Hour {
			d = 24 * time.Hour
		}
		return d, true
	}
	return 0, false
}

// ReadBody reads at most limit bytes of a response body. A read that fails part way (the
// connection dropped, the time-out struck) is errs.Transient; a body over limit is errs.Invalid.
func ReadBody(ctx context.Context, body io.Reader, limit int64, op string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return nil, errs.E(errs.Transient, op, fmt.Errorf("reading the body: %w", err))
	}
	if int64(len(b)) > limit {
		return nil, errs.E(errs.Invalid, op, fmt.Errorf("body larger than %d bytes", limit))
	}
	return b, nil
}
