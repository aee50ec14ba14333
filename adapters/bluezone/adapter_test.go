package bluezone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// recordingSink is the gateway's side of the webhook: it records every batch, rejects the
// declarations carrying Problems, and answers duplicate for a record id it has seen.
type recordingSink struct {
	mu      sync.Mutex
	batches [][]canonical.Declaration
	seen    map[string]bool
	err     error // returned instead of results when set
	short   bool  // return one result too few
}

func (s *recordingSink) Ingest(_ context.Context, batch []canonical.Declaration) ([]adapters.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, batch)
	if s.err != nil {
		return nil, s.err
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	var out []adapters.Result
	for _, d := range batch {
		switch {
		case len(d.Problems) > 0:
			out = append(out, adapters.Result{Outcome: "rejected", Violations: d.Problems})
		case s.seen[d.Source.RecordID]:
			out = append(out, adapters.Result{Outcome: "duplicate", QRID: "QR-" + d.Source.RecordID})
		default:
			s.seen[d.Source.RecordID] = true
			out = append(out, adapters.Result{Outcome: "accepted", QRID: "QR-" + d.Source.RecordID})
		}
	}
	if s.short {
		out = out[:len(out)-1]
	}
	return out, nil
}

func (s *recordingSink) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.batches)
}

var (
	secret  = []byte("bluezone-test-secret-0123456789")
	gwClock = time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)
)

func batchBody(t testing.TB, n int) []byte {
	t.Helper()
	b := Batch{BatchId: "bz-test"}
	for i := range n {
		b.Items = append(b.Items, Item{
			DeclarationId: fmt.Sprintf("BZ-%09d", i+1), BluezoneId: "Z", FullName: "Nguyễn Văn An",
			NamSinh: "1990", MaGioiTinh: "1", MaQuocTich: "VN", SoDienThoai: "0912345678",
			DiaChiLienLacVNMaTinh: "79", ThoiGianKhaiBao: gwClock.Add(-time.Hour).UnixMilli(),
		})
	}
	body, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

type request struct {
	method    string
	body      []byte
	timestamp string // header value; "-" for none
	signature string // header value; "" computes the right one, "-" for none
}

func send(t *testing.T, url string, r request) (*http.Response, []byte) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, url+Path, bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.timestamp != "-" {
		req.Header.Set(HeaderTimestamp, r.timestamp)
	}
	switch r.signature {
	case "":
		req.Header.Set(HeaderSignature, Sign(secret, r.timestamp, r.body))
	case "-":
	default:
		req.Header.Set(HeaderSignature, r.signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func newServer(t *testing.T, sink adapters.Sink) *httptest.Server {
	t.Helper()
	h, err := NewHandler(Config{Secret: secret, Now: func() time.Time { return gwClock }}, sink)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestHandlerRefusals: every refused request gets its status and stable code, and nothing of
// the batch reaches the sink.
func TestHandlerRefusals(t *testing.T) {
	now := Timestamp(gwClock)
	body := batchBody(t, 2)
	tests := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"GET", request{method: http.MethodGet, timestamp: now}, http.StatusMethodNotAllowed, CodeMethodNotAllowed},
		{"no timestamp", request{body: body, timestamp: "-"}, http.StatusUnauthorized, CodeBadTimestamp},
		{"timestamp in milliseconds", request{body: body, timestamp: fmt.Sprint(gwClock.UnixMilli())}, http.StatusUnauthorized, CodeStaleTimestamp},
		{"timestamp not a number", request{body: body, timestamp: "yesterday"}, http.StatusUnauthorized, CodeBadTimestamp},
		// A correctly signed request replayed after the window is refused.
		{"stale by 301 s", request{body: body, timestamp: Timestamp(gwClock.Add(-301 * time.Second))}, http.StatusUnauthorized, CodeStaleTimestamp},
		{"future by 301 s", request{body: body, timestamp: Timestamp(gwClock.Add(301 * time.Second))}, http.StatusUnauthorized, CodeStaleTimestamp},
		{"no signature", request{body: body, timestamp: now, signature: "-"}, http.StatusUnauthorized, CodeMissingSignature},
		{"signed with another secret", request{body: body, timestamp: now, signature: Sign([]byte("other"), now, body)}, http.StatusUnauthorized, CodeBadSignature},
		// The signature covers the timestamp: moving the timestamp breaks it.
		{"signed for another timestamp", request{body: body, timestamp: now, signature: Sign(secret, Timestamp(gwClock.Add(-time.Second)), body)}, http.StatusUnauthorized, CodeBadSignature},
		{"signed for another body", request{body: body, timestamp: now, signature: Sign(secret, now, batchBody(t, 1))}, http.StatusUnauthorized, CodeBadSignature},
		{"signature without prefix", request{body: body, timestamp: now, signature: strings.TrimPrefix(Sign(secret, now, body), "sha256=")}, http.StatusUnauthorized, CodeBadSignature},
		{"signature not hex", request{body: body, timestamp: now, signature: "sha256=zz"}, http.StatusUnauthorized, CodeBadSignature},
		{"body over 4 MiB", request{body: bytes.Repeat([]byte(" "), DefaultMaxBody+1), timestamp: now}, http.StatusRequestEntityTooLarge, CodeBodyTooLarge},
		{"not JSON", request{body: []byte("BatchId=1"), timestamp: now}, http.StatusBadRequest, CodeMalformedBody},
		{"truncated JSON", request{body: body[:len(body)/2], timestamp: now}, http.StatusBadRequest, CodeMalformedBody},
		{"empty body", request{body: nil, timestamp: now}, http.StatusBadRequest, CodeMalformedBody},
		{"no Items", request{body: []byte(`{"BatchId":"x"}`), timestamp: now}, http.StatusBadRequest, CodeMalformedBody},
		{"null body", request{body: []byte(`null`), timestamp: now}, http.StatusBadRequest, CodeMalformedBody},
		{"Items not an array", request{body: []byte(`{"BatchId":"x","Items":{}}`), timestamp: now}, http.StatusBadRequest, CodeMalformedBody},
		{"1,001 items", request{body: batchBody(t, DefaultMaxItems+1), timestamp: now}, http.StatusBadRequest, CodeTooManyItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &recordingSink{}
			srv := newServer(t, sink)
			resp, raw := send(t, srv.URL, tt.req)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.status, raw)
			}
			var eb ErrorBody
			if err := json.Unmarshal(raw, &eb); err != nil {
				t.Fatalf("error body %q: %v", raw, err)
			}
			if eb.Error.Code != tt.code || eb.Error.Message == "" {
				t.Errorf("error = %+v, want code %q and a message", eb.Error, tt.code)
			}
			if n := sink.calls(); n != 0 {
				t.Errorf("sink called %d times, want 0", n)
			}
		})
	}
}

// TestHandlerAccepts: a signed batch reaches the sink once, whole and in order, and each item
// gets its own result; an item that cannot be decoded is rejected alone with its reason.
func TestHandlerAccepts(t *testing.T) {
	sink := &recordingSink{}
	srv := newServer(t, sink)
	body := []byte(`{"BatchId":"bz-1","Items":[
		{"DeclarationId":"BZ-1","FullName":"An","NamSinh":"1990","MaGioiTinh":"1"},
		{"DeclarationId":"BZ-2","FullName":"Binh","NamSinh":"1990","MaGioiTinh":"9"},
		{"DeclarationId":"BZ-3","FullName":"Cuong","NamSinh":1990}]}`)
	// The edge of the window is still inside it.
	ts := Timestamp(gwClock.Add(-DefaultSkew))
	resp, raw := send(t, srv.URL, request{body: body, timestamp: ts})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var got Response
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.BatchId != "bz-1" || len(got.Results) != 3 {
		t.Fatalf("response = %s", raw)
	}
	want := []struct{ id, status, code string }{
		{"BZ-1", "accepted", ""},
		{"BZ-2", "rejected", string(canonical.ReasonUnknownGender)},
		{"BZ-3", "rejected", string(canonical.ReasonMalformed)},
	}
	for i, w := range want {
		r := got.Results[i]
		if r.DeclarationId != w.id || r.Status != w.status {
			t.Errorf("result %d = %+v, want %s %s", i, r, w.id, w.status)
		}
		if w.code == "" && (len(r.Reasons) != 0 || r.QrId == "") {
			t.Errorf("result %d = %+v, want a QR id and no reasons", i, r)
		}
		if w.code != "" && (len(r.Reasons) != 1 || r.Reasons[0].Code != w.code || r.Reasons[0].Field == "") {
			t.Errorf("result %d reasons = %+v, want one %s", i, r.Reasons, w.code)
		}
	}
	if sink.calls() != 1 || len(sink.batches[0]) != 3 {
		t.Errorf("sink got %d batches, want 1 of 3", sink.calls())
	}

	// The same signed request again, inside the window: idempotent.
	resp, raw = send(t, srv.URL, request{body: body, timestamp: ts})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("replay status %d: %s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Results[0].Status != "duplicate" {
		t.Errorf("replayed item 0 = %+v, want duplicate", got.Results[0])
	}
}

// TestHandlerEmptyBatch: an empty batch is answered with no results and bothers no one.
func TestHandlerEmptyBatch(t *testing.T) {
	sink := &recordingSink{}
	srv := newServer(t, sink)
	resp, raw := send(t, srv.URL, request{body: []byte(`{"BatchId":"e","Items":[]}`), timestamp: Timestamp(gwClock)})
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(raw)) != `{"BatchId":"e","Results":[]}` {
		t.Errorf("status %d body %s", resp.StatusCode, raw)
	}
	if sink.calls() != 0 {
		t.Errorf("sink called %d times", sink.calls())
	}
}

func TestHandlerMaxItems(t *testing.T) {
	sink := &recordingSink{}
	srv := newServer(t, sink)
	body := batchBody(t, DefaultMaxItems)
	resp, raw := send(t, srv.URL, request{body: body, timestamp: Timestamp(gwClock)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("1,000 items: status %d: %.200s", resp.StatusCode, raw)
	}
	if sink.calls() != 1 || len(sink.batches[0]) != DefaultMaxItems {
		t.Errorf("sink got %d batches", sink.calls())
	}
}

// TestHandlerSinkErrors: a sink that cannot store answers 503 with Retry-After when retrying
// can help, 500 otherwise, and never shows the internal error text.
func TestHandlerSinkErrors(t *testing.T) {
	const secretText = "redis 10.0.0.7:6379 connection refused"
	tests := []struct {
		name       string
		sink       *recordingSink
		status     int
		code       string
		retryAfter string
	}{
		{"transient", &recordingSink{err: errs.E(errs.Transient, "store", errors.New(secretText))}, 503, CodeUnavailable, "5"},
		{"transient with its own wait", &recordingSink{err: adapters.ErrRetryAfter("store", 12*time.Second, errors.New(secretText))}, 503, CodeUnavailable, "12"},
		{"internal", &recordingSink{err: errors.New(secretText)}, 500, CodeInternal, ""},
		{"invalid", &recordingSink{err: errs.E(errs.Invalid, "store", errors.New(secretText))}, 500, CodeInternal, ""},
		// A sink that loses a result must not make the handler answer for the wrong items.
		{"result missing", &recordingSink{short: true}, 500, CodeInternal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.sink)
			resp, raw := send(t, srv.URL, request{body: batchBody(t, 2), timestamp: Timestamp(gwClock)})
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			var eb ErrorBody
			if err := json.Unmarshal(raw, &eb); err != nil || eb.Error.Code != tt.code {
				t.Errorf("body %s, want code %s", raw, tt.code)
			}
			if strings.Contains(string(raw), "redis") || strings.Contains(string(raw), "sink returned") {
				t.Errorf("body leaks internal text: %s", raw)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Secret: secret}, true},
		{"no secret", Config{}, false},
		{"negative items", Config{Secret: secret, MaxItems: -1}, false},
		{"negative body", Config{Secret: secret, MaxBody: -1}, false},
		{"negative skew", Config{Secret: secret, Skew: -time.Second}, false},
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
	if _, err := NewHandler(Config{Secret: secret}, nil); !errs.Is(err, errs.Invalid) {
		t.Errorf("NewHandler(nil sink) = %v, want invalid", err)
	}
}

// TestSign pins the signature to a value computed independently:
// printf '1629012345.{}' | openssl dgst -sha256 -hmac key
func TestSign(t *testing.T) {
	got := Sign([]byte("key"), "1629012345", []byte("{}"))
	want := "sha256=" + opensslHMAC
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

const opensslHMAC = "08cf926263a3c03d752b9a8d37a4eb457063c04920d62a9a4d76de1388e21a77"
