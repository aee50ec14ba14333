package bluezone

import (
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical/errs"
)

// Stable error codes of the webhook's error body.
const (
	CodeMethodNotAllowed = "method_not_allowed"
	CodeMissingSignature = "missing_signature" // no X-Bluezone-Signature header
	CodeBadSignature     = "bad_signature"     // the signature does not match the body
	CodeBadTimestamp     = "bad_timestamp"     // X-Bluezone-Timestamp missing or not Unix seconds
	CodeStaleTimestamp   = "stale_timestamp"   // X-Bluezone-Timestamp too far from the gateway's clock
	CodeBodyTooLarge     = "body_too_large"
	CodeMalformedBody    = "malformed_body" // not a Bluezone batch
	CodeTooManyItems     = "too_many_items"
	CodeUnavailable      = "unavailable" // the gateway cannot store now; retry after Retry-After
	CodeInternal         = "internal"
)

// retryAfterDefault is the Retry-After sent with a 503 when the sink gave no better figure.
const retryAfterDefault = 5 * time.Second

// Response is the webhook's 200 answer: one result per item, in the batch's order.
type Response struct {
	BatchId string   `json:"BatchId"`
	Results []Status `json:"Results"`
}

// Status is the gateway's answer for one item.
type Status struct {
	DeclarationId string   `json:"DeclarationId"`
	Status        string   `json:"Status"` // accepted, duplicate or rejected
	QrId          string   `json:"QrId"`
	Reasons       []Reason `json:"Reasons"`
}

// Reason is one broken rule of a rejected item.
type Reason struct {
	Code    string `json:"Code"`
	Field   string `json:"Field"`
	Message string `json:"Message"`
}

// ErrorBody is the webhook's answer when the batch was not taken.
type ErrorBody struct {
	Error ErrorDetail `json:"Error"`
}

// ErrorDetail says why the batch was not taken, with a stable code.
type ErrorDetail struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// handler serves POST /partners/bluezone/v1/declarations.
type handler struct {
	cfg  Config
	sink adapters.Sink
}

// NewHandler returns the webhook handler. It checks the timestamp and signature, reads the
// body within MaxBody, decodes every item (an item it cannot read is rejected alone) and
// hands the whole batch to sink in one Ingest call. When it answers anything but 200,
// nothing of the batch has reached the sink.
func NewHandler(cfg Config, sink adapters.Sink) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errs.E(errs.Invalid, "bluezone.NewHandler", errors.New("sink: required"))
	}
	return &handler{cfg: cfg.withDefaults(), sink: sink}, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use POST")
		return
	}

	// 1. The timestamp, cheaply, before reading any body.
	ts := r.Header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusUnauthorized, CodeBadTimestamp, HeaderTimestamp+" must be Unix seconds")
		return
	}
	now := h.cfg.Now()
	if d := now.Sub(time.Unix(sec, 0)); d > h.cfg.Skew || d < -h.cfg.Skew {
		h.fail(w, r, http.StatusUnauthorized, CodeStaleTimestamp,
			fmt.Sprintf("%s is more than %d s from the gateway's clock", HeaderTimestamp, int64(h.cfg.Skew/time.Second)))
		return
	}
	sig := r.Header.Get(HeaderSignature)
	if sig == "" {
		h.fail(w, r, http.StatusUnauthorized, CodeMissingSignature, HeaderSignature+" is required")
		return
	}

	// 2. The body, within the limit, then the signature over it.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
				fmt.Sprintf("the body is larger than %d bytes", h.cfg.MaxBody))
			return
		}
		h.fail(w, r, http.StatusBadRequest, CodeMalformedBody, "the body could not be read")
		return
	}
	if !h.validSignature(sig, ts, body) {
		h.fail(w, r, http.StatusUnauthorized, CodeBadSignature, HeaderSignature+" does not match the body")
		return
	}

	// 3. The batch.
	env, err := parseBatch(body)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, CodeMalformedBody, "the body is not a Bluezone batch: "+jsonProblem(err))
		return
	}
	if n := len(env.Items); n > h.cfg.MaxItems {
		h.fail(w, r, http.StatusBadRequest, CodeTooManyItems, fmt.Sprintf("%d items, at most %d", n, h.cfg.MaxItems))
		return
	}
	batchID, decls := env.BatchId, env.decode()
	if len(decls) == 0 {
		writeJSON(w, http.StatusOK, Response{BatchId: batchID, Results: []Status{}})
		return
	}

	// 4. The sink, once, with every item.
	results, err := h.sink.Ingest(r.Context(), decls)
	if err == nil && len(results) != len(decls) {
		err = fmt.Errorf("sink returned %d results for %d items", len(results), len(decls))
	}
	if err != nil {
		h.sinkFailed(w, r, batchID, err)
		return
	}
	resp := Response{BatchId: batchID, Results: make([]Status, len(decls))}
	rejected := 0
	for i, res := range results {
		st := Status{DeclarationId: decls[i].Source.RecordID, Status: res.Outcome, QrId: res.QRID, Reasons: []Reason{}}
		for _, v := range res.Violations {
			st.Reasons = append(st.Reasons, Reason{Code: string(v.Reason), Field: v.Field, Message: v.Message})
		}
		if res.Outcome == "rejected" {
			rejected++
		}
		resp.Results[i] = st
	}
	h.cfg.Logger.Info("bluezone: batch ingested", "batch_id", batchID, "items", len(decls), "rejected", rejected)
	writeJSON(w, http.StatusOK, resp)
}

// validSignature compares the header with the expected HMAC in constant time.
func (h *handler) validSignature(header, ts string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, mac(h.cfg.Secret, ts, body))
}

// sinkFailed answers a batch the sink could not take: 503 with Retry-After when retrying can
// help, 500 otherwise; the internal error text is logged, never sent.
func (h *handler) sinkFailed(w http.ResponseWriter, r *http.Request, batchID string, err error) {
	if errs.Is(err, errs.Transient) {
		after := retryAfterDefault
		if d, ok := adapters.RetryAfter(err); ok && d > 0 {
			after = d
		}
		secs := int64((after + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		h.cfg.Logger.Warn("bluezone: sink unavailable", "batch_id", batchID, "err", err)
		h.fail(w, r, http.StatusServiceUnavailable, CodeUnavailable, "the gateway cannot store the batch now; retry later")
		return
	}
	h.cfg.Logger.Error("bluezone: sink failed", "batch_id", batchID, "kind", errs.KindOf(err).String(), "err", err)
	h.fail(w, r, http.StatusInternalServerError, CodeInternal, "internal error; nothing of the batch was stored")
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if status < 500 {
		h.cfg.Logger.Info("bluezone: batch refused", "status", status, "code", code, "remote", r.RemoteAddr)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// jsonProblem describes a JSON error without quoting the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s: got a JSON %s, want %s", te.Field, te.Value, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case errors.Is(err, errNoItems):
		return "Items: required"
	}
	return "invalid JSON"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
