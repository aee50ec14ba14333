package ncovi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical/errs"
)

const token = "ncovi-test-token"

// feed is a fake NCOVI serving a fixed list of records in pages; the cursor is the offset.
type feed struct {
	mu       sync.Mutex
	records  []Record
	requests []*http.Request
}

func (f *feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	if r.URL.Path != FeedPath || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	off := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		var err error
		if off, err = strconv.Atoi(c); err != nil {
			http.Error(w, "bad cursor", http.StatusBadRequest)
			return
		}
	}
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit < 1 || limit > 500 {
		http.Error(w, "bad limit", http.StatusBadRequest)
		return
	}
	end := min(off+limit, len(f.records))
	page := PageBody{Data: f.records[off:end], HasMore: end < len(f.records)}
	if page.HasMore {
		page.NextCursor = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

func records(n int) []Record {
	var out []Record
	for i := range n {
		out = append(out, Record{
			ID: fmt.Sprintf("nc_%010d", i+1), AccountID: "u", FullName: "NGUYEN VAN AN", DateOfBirth: "1990",
			Gender: "male", Nationality: "VN", Phone: "0912345678", Address: Address{Province: "Hà Nội"},
			CreatedAt: "2021-08-15T09:12:00+07:00", UpdatedAt: "2021-08-15T09:12:00+07:00",
		})
	}
	return out
}

func newSource(t *testing.T, url string, pageSize int, timeout time.Duration) *Source {
	t.Helper()
	s, err := New(Config{BaseURL: url + "/", Token: token, PageSize: pageSize, Timeout: timeout,
		Now: func() time.Time { return time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFetchPages walks the whole feed by cursor, as the runner does.
func TestFetchPages(t *testing.T) {
	f := &feed{records: records(7)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s := newSource(t, srv.URL, 3, 0)

	var ids []string
	cursor, fetches := "", 0
	for {
		page, err := s.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		fetches++
		for _, d := range page.Declarations {
			ids = append(ids, d.Source.RecordID)
		}
		cursor = page.Next
		if !page.More {
			break
		}
		if fetches > 10 {
			t.Fatal("the feed never ends")
		}
	}
	if fetches != 3 || len(ids) != 7 || ids[0] != "nc_0000000001" || ids[6] != "nc_0000000007" {
		t.Errorf("%d fetches, ids %v", fetches, ids)
	}
	// The last page has no next_cursor: the cursor stays where the last page began, so the
	// next poll resumes there (and sees nc_7 again, which the store ignores).
	if cursor != "6" {
		t.Errorf("cursor after the last page = %q, want 6", cursor)
	}
	first := f.requests[0]
	if first.URL.Query().Has("cursor") || first.URL.Query().Get("limit") != "3" {
		t.Errorf("first request %s, want no cursor and limit=3", first.URL)
	}
	if f.requests[1].URL.Query().Get("cursor") != "3" {
		t.Errorf("second request %s, want cursor=3", f.requests[1].URL)
	}

	// New records arrive: the next poll picks them up from the stored cursor.
	f.mu.Lock()
	f.records = records(9)
	f.mu.Unlock()
	page, err := s.Fetch(context.Background(), cursor)
	if err != nil || len(page.Declarations) != 3 || page.Declarations[2].Source.RecordID != "nc_0000000009" {
		t.Errorf("after new records: %+v, %v", page, err)
	}
}

// TestFetchErrors: each way NCOVI fails gets the kind the runner acts on.
func TestFetchErrors(t *testing.T) {
	full, _ := json.Marshal(PageBody{Data: records(2), NextCursor: "2", HasMore: true})
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		token      string
		kind       errs.Kind
		retryAfter time.Duration // > 0: the error must carry it
	}{
		{name: "bad token", token: "wrong", kind: errs.Permission},
		{name: "403", handler: status(http.StatusForbidden, nil), kind: errs.Permission},
		{name: "429 with seconds", handler: status(http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}), kind: errs.Transient, retryAfter: 30 * time.Second},
		// Retry-After as an HTTP date, read against the injected clock.
		{name: "429 with a date", handler: status(http.StatusTooManyRequests, http.Header{"Retry-After": {"Sun, 15 Aug 2021 09:02:00 GMT"}}), kind: errs.Transient, retryAfter: 2 * time.Minute},
		{name: "429 without Retry-After", handler: status(http.StatusTooManyRequests, nil), kind: errs.Transient},
		{name: "500", handler: status(http.StatusInternalServerError, nil), kind: errs.Transient},
		{name: "502", handler: status(http.StatusBadGateway, nil), kind: errs.Transient},
		{name: "503 with Retry-After", handler: status(http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}), kind: errs.Transient, retryAfter: 7 * time.Second},
		{name: "404 (wrong base URL)", handler: status(http.StatusNotFound, nil), kind: errs.Invalid},
		{name: "truncated JSON", handler: body(full[:len(full)/2]), kind: errs.Transient},
		{name: "not JSON", handler: body([]byte("<html>maintenance</html>")), kind: errs.Transient},
		// Well-formed JSON of another shape will not get better by retrying.
		{name: "an error object with 200", handler: body([]byte(`{"error":"quota"}`)), kind: errs.Invalid},
		{name: "data not an array", handler: body([]byte(`{"data":{"id":"x"}}`)), kind: errs.Invalid},
		{name: "connection dropped mid-body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(full)))
			_, _ = w.Write(full[:100])
			panic(http.ErrAbortHandler) // closes the connection without finishing the body
		}, kind: errs.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handler
			if h == nil {
				h = (&feed{records: records(1)}).ServeHTTP
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			tok := token
			if tt.token != "" {
				tok = tt.token
			}
			s, err := New(Config{BaseURL: srv.URL, Token: tok,
				Now: func() time.Time { return time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC) }}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Fetch(context.Background(), "c1")
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			if got := errs.KindOf(err); got != tt.kind {
				t.Errorf("kind = %v, want %v (%v)", got, tt.kind, err)
			}
			d, ok := adapters.RetryAfter(err)
			if tt.retryAfter > 0 && (!ok || d != tt.retryAfter) {
				t.Errorf("RetryAfter = %v, %v; want %v", d, ok, tt.retryAfter)
			}
			if tt.retryAfter == 0 && ok {
				t.Errorf("RetryAfter = %v, want none", d)
			}
		})
	}
}

// TestFetchTimeout: a partner that never answers is cut off by Config.Timeout, as Transient.
func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	s := newSource(t, srv.URL, 0, 50*time.Millisecond)
	_, err := s.Fetch(context.Background(), "")
	if !errs.Is(err, errs.Transient) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want transient deadline exceeded", err)
	}
}

// TestFetchCanceled: the runner's own cancellation shows through, so it is not counted
// against the partner.
func TestFetchCanceled(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	s := newSource(t, srv.URL, 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := s.Fetch(ctx, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled in the chain", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{BaseURL: "https://ncovi.example", Token: "t"}, true},
		{"page size 500", Config{BaseURL: "https://ncovi.example", Token: "t", PageSize: 500}, true},
		{"page size 501", Config{BaseURL: "https://ncovi.example", Token: "t", PageSize: 501}, false},
		{"negative page size", Config{BaseURL: "https://ncovi.example", Token: "t", PageSize: -1}, false},
		{"no token", Config{BaseURL: "https://ncovi.example"}, false},
		{"no URL", Config{Token: "t"}, false},
		{"not a URL", Config{BaseURL: "ncovi.example", Token: "t"}, false},
		{"ftp", Config{BaseURL: "ftp://ncovi.example", Token: "t"}, false},
		{"query in URL", Config{BaseURL: "https://ncovi.example/?x=1", Token: "t"}, false},
		{"negative timeout", Config{BaseURL: "https://ncovi.example", Token: "t", Timeout: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errs.Is(err, errs.Invalid) {
				t.Errorf("kind = %v, want invalid", errs.KindOf(err))
			}
			if _, nerr := New(tt.cfg, nil); (nerr == nil) != tt.ok {
				t.Errorf("New() = %v", nerr)
			}
		})
	}
}

func status(code int, h http.Header) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(strings.Repeat("x", 10)))
	}
}

func body(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// TestFetchCursorEdges: what Page.Next and Page.More become for each end-of-feed answer.
func TestFetchCursorEdges(t *testing.T) {
	tests := []struct {
		name string
		page PageBody
		next string
		more bool
	}{
		{"more to come", PageBody{Data: records(1), NextCursor: "c2", HasMore: true}, "c2", true},
		// The feed's end with a cursor: keep it, it is where new records will appear.
		{"end with a cursor", PageBody{Data: records(1), NextCursor: "c2"}, "c2", false},
		// The feed's end without a cursor: stay where we are.
		{"end without a cursor", PageBody{Data: records(1)}, "c1", false},
		// has_more without a cursor would fetch the same page forever: wait for the next poll.
		{"more without a cursor", PageBody{Data: records(1), HasMore: true}, "c1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(tt.page)
			srv := httptest.NewServer(body(b))
			t.Cleanup(srv.Close)
			page, err := newSource(t, srv.URL, 0, 0).Fetch(context.Background(), "c1")
			if err != nil || page.Next != tt.next || page.More != tt.more || len(page.Declarations) != 1 {
				t.Errorf("Fetch = Next %q More %v (%d decls), %v; want %q %v", page.Next, page.More, len(page.Declarations), err, tt.next, tt.more)
			}
		})
	}
}
