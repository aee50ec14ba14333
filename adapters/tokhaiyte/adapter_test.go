package tokhaiyte

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

const apiKey = "tokhaiyte-test-key"

// export is a fake tokhaiyte serving the declarations whose time falls in [tu, den), as CSV
// with a byte-order mark.
type export struct {
	mu      sync.Mutex
	decls   []canonical.Declaration
	windows [][2]time.Time
	extra   string // a raw line appended to every export (a malformed row)
}

func (e *export) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != ExportPath {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-Api-Key") != apiKey {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	tu, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("tu"))
	den, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("den"))
	if err1 != nil || err2 != nil || !tu.Before(den) {
		http.Error(w, "bad window", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.windows = append(e.windows, [2]time.Time{tu, den})
	var rows []Row
	for _, d := range e.decls {
		if !d.DeclaredAt.Before(tu) && d.DeclaredAt.Before(den) {
			rows = append(rows, EncodeRow(d))
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	_ = WriteCSV(w, rows, true)
	_, _ = w.Write([]byte(e.extra))
}

func declaredAt(ts ...time.Time) []canonical.Declaration {
	var out []canonical.Declaration
	for i, t := range ts {
		out = append(out, canonical.Declaration{
			Source: canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: fmt.Sprintf("TKYT-%d", i+1), Version: "1"},
			Person: canonical.Person{FullName: "NGUYEN VAN AN", BirthDate: canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}},
			Health: canonical.Health{Form: canonical.SymptomSingleQuestion}, DeclaredAt: t,
		})
	}
	return out
}

// clock is a test clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func ids(p adapters.Page) []string {
	var out []string
	for _, d := range p.Declarations {
		out = append(out, d.Source.RecordID)
	}
	return out
}

// TestFetchWindows follows the high-water mark from Start to now: windows of Window, each
// starting Overlap before the last mark, so rows near a boundary are seen twice.
func TestFetchWindows(t *testing.T) {
	start := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	clk := &clock{t: start.Add(150 * time.Minute)}
	e := &export{decls: declaredAt(
		start.Add(10*time.Minute),                 // first window
		start.Add(58*time.Minute),                 // first window, and again through the overlap
		start.Add(61*time.Minute),                 // second window
		start.Add(149*time.Minute+30*time.Second), // third window, the last one before now
	)}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	s, err := New(Config{BaseURL: srv.URL, APIKey: apiKey, Start: start, Now: clk.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}

	type step struct {
		ids  []string
		next time.Time
		more bool
	}
	want := []step{
		{[]string{"TKYT-1", "TKYT-2"}, start.Add(time.Hour), true},
		{[]string{"TKYT-2", "TKYT-3"}, start.Add(115 * time.Minute), true},
		// The last window ends at now: caught up.
		{[]string{"TKYT-4"}, start.Add(150 * time.Minute), false},
	}
	cursor := ""
	for i, w := range want {
		page, err := s.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if got := ids(page); fmt.Sprint(got) != fmt.Sprint(w.ids) {
			t.Errorf("fetch %d: ids %v, want %v", i, got, w.ids)
		}
		if page.Next != w.next.Format(time.RFC3339) || page.More != w.more {
			t.Errorf("fetch %d: Next %s More %v, want %s %v", i, page.Next, page.More, w.next.Format(time.RFC3339), w.more)
		}
		for _, d := range page.Declarations {
			if d.Source.Line < 2 || len(d.Problems) != 0 {
				t.Errorf("fetch %d: %+v", i, d.Source)
			}
		}
		cursor = page.Next
	}
	wantWindows := [][2]time.Time{
		{start, start.Add(time.Hour)},
		{start.Add(55 * time.Minute), start.Add(115 * time.Minute)},
		{start.Add(110 * time.Minute), start.Add(150 * time.Minute)},
	}
	if fmt.Sprint(e.windows) != fmt.Sprint(wantWindows) {
		t.Errorf("windows asked:\n%v\nwant\n%v", e.windows, wantWindows)
	}

	// Time passes; the next poll re-reads the overlap and goes on.
	clk.Set(start.Add(160 * time.Minute))
	page, err := s.Fetch(context.Background(), cursor)
	if err != nil || fmt.Sprint(ids(page)) != "[TKYT-4]" || page.Next != start.Add(160*time.Minute).Format(time.RFC3339) || page.More {
		t.Errorf("after 10 minutes: %v %s %v %v", ids(page), page.Next, page.More, err)
	}
}

// TestFetchDefaults: with no Start, the first window begins seven days before now.
func TestFetchDefaults(t *testing.T) {
	now := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	s, err := New(Config{BaseURL: "http://127.0.0.1:1", APIKey: apiKey, Now: func() time.Time { return now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	from, to, err := s.Window("")
	if err != nil || !from.Equal(now.Add(-7*24*time.Hour)) || !to.Equal(from.Add(time.Hour)) {
		t.Errorf("Window(\"\") = %v, %v, %v", from, to, err)
	}
	from, to, err = s.Window(now.Add(-time.Minute).Format(time.RFC3339))
	if err != nil || !from.Equal(now.Add(-6*time.Minute)) || !to.Equal(now) {
		t.Errorf("Window(now-1m) = %v, %v, %v", from, to, err)
	}
	if _, err := s.Fetch(context.Background(), "yesterday"); !errs.Is(err, errs.Invalid) {
		t.Errorf("Fetch(bad cursor) = %v, want invalid", err)
	}
}

// TestFetchNothingYet: with no overlap and the mark at now, there is no window to ask for;
// the cursor stays and the partner is not called.
func TestFetchNothingYet(t *testing.T) {
	now := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	var called atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called.Store(true) }))
	t.Cleanup(srv.Close)
	s, err := New(Config{BaseURL: srv.URL, APIKey: apiKey, Overlap: -1, Now: func() time.Time { return now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cursor := now.Format(time.RFC3339)
	page, err := s.Fetch(context.Background(), cursor)
	if err != nil || page.Next != cursor || page.More || len(page.Declarations) != 0 || called.Load() {
		t.Errorf("Fetch = %+v, %v (partner called: %v)", page, err, called.Load())
	}
}

// TestFetchMalformedRow: a bad row in the export is rejected alone with its line number.
func TestFetchMalformedRow(t *testing.T) {
	start := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	e := &export{decls: declaredAt(start.Add(time.Minute), start.Add(2*time.Minute)), extra: "TKYT-9,0,SHORT\r\n"}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	s, err := New(Config{BaseURL: srv.URL, APIKey: apiKey, Start: start, Now: func() time.Time { return start.Add(time.Hour) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Fetch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Declarations) != 3 {
		t.Fatalf("%d declarations, want 3", len(page.Declarations))
	}
	bad := page.Declarations[2]
	if bad.Source.RecordID != "TKYT-9" || bad.Source.Line != 4 || len(bad.Problems) != 1 || bad.Problems[0].Reason != canonical.ReasonMalformedRow {
		t.Errorf("bad row = %+v %+v", bad.Source, bad.Problems)
	}
	for _, d := range page.Declarations[:2] {
		if len(d.Problems) != 0 {
			t.Errorf("good row %s has problems %v", d.Source.RecordID, d.Problems)
		}
	}
}

// TestFetchErrors: each way tokhaiyte fails gets the kind the runner acts on.
func TestFetchErrors(t *testing.T) {
	now := time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		key        string
		kind       errs.Kind
		retryAfter time.Duration
	}{
		{name: "wrong key", key: "wrong", kind: errs.Permission},
		{name: "403", handler: status(http.StatusForbidden, ""), kind: errs.Permission},
		{name: "429", handler: status(http.StatusTooManyRequests, "120"), kind: errs.Transient, retryAfter: 2 * time.Minute},
		{name: "500", handler: status(http.StatusInternalServerError, ""), kind: errs.Transient},
		{name: "504", handler: status(http.StatusGatewayTimeout, ""), kind: errs.Transient},
		// An HTML error page served with 200 is not the export: retrying will not fix it.
		{name: "not the export", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html><body>Bảo trì</body></html>\r\n"))
		}, kind: errs.Invalid},
		// Not even a header: the window must be asked again, not skipped.
		{name: "empty body", handler: status(http.StatusOK, ""), kind: errs.Transient},
		{name: "connection dropped mid-body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			_ = WriteCSV(w, nil, true)
			panic(http.ErrAbortHandler)
		}, kind: errs.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.handler
			if h == nil {
				h = (&export{}).ServeHTTP
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			key := apiKey
			if tt.key != "" {
				key = tt.key
			}
			s, err := New(Config{BaseURL: srv.URL, APIKey: key, Now: func() time.Time { return now }}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Fetch(context.Background(), now.Add(-time.Hour).Format(time.RFC3339))
			if got := errs.KindOf(err); err == nil || got != tt.kind {
				t.Errorf("err = %v (kind %v), want kind %v", err, got, tt.kind)
			}
			d, ok := adapters.RetryAfter(err)
			if ok != (tt.retryAfter > 0) || d != tt.retryAfter {
				t.Errorf("RetryAfter = %v, %v; want %v", d, ok, tt.retryAfter)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	base := "https://tokhaiyte.example"
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{BaseURL: base, APIKey: "k"}, true},
		{"no overlap", Config{BaseURL: base, APIKey: "k", Overlap: -1}, true},
		{"no key", Config{BaseURL: base}, false},
		{"no URL", Config{APIKey: "k"}, false},
		{"relative URL", Config{BaseURL: "/export", APIKey: "k"}, false},
		// A window no longer than the overlap would never move the mark.
		{"window within overlap", Config{BaseURL: base, APIKey: "k", Window: 5 * time.Minute}, false},
		{"negative window", Config{BaseURL: base, APIKey: "k", Window: -time.Hour}, false},
		{"negative timeout", Config{BaseURL: base, APIKey: "k", Timeout: -1}, false},
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
		})
	}
}

func status(code int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
	}
}
