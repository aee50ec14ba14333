package sim

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ncoviHandler serves NCOVI's feed: GET /api/v1/declarations?cursor=&limit= with a bearer
// token. The cursor is opaque to the client (base64url of {"o":offset}); pages hold up to limit
// records; corrections come later in the feed than the versions they replace.
type ncoviHandler struct {
	pop   *Population
	token string
}

type ncoviCursor struct {
	O int `json:"o"`
}

func encodeCursor(offset int) string {
	b, _ := json.Marshal(ncoviCursor{O: offset})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, err
	}
	var c ncoviCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, err
	}
	if c.O < 0 {
		return 0, fmt.Errorf("negative offset")
	}
	return c.O, nil
}

// NCOVIMaxLimit is the largest page the feed serves.
const NCOVIMaxLimit = 500

func (h *ncoviHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/declarations" {
		writeError(w, http.StatusNotFound, "not_found", "no such resource")
		return
	}
	if !tokenEqual(r.Header.Get("Authorization"), "Bearer "+h.token) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token")
		return
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > NCOVIMaxLimit {
			writeError(w, http.StatusBadRequest, "bad_limit", "limit must be 1..500")
			return
		}
		limit = n
	}
	offset, err := decodeCursor(q.Get("cursor"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_cursor", "the cursor is not one this feed gave")
		return
	}
	feed := h.pop.ncoviFeed
	offset = min(offset, len(feed))
	end := min(offset+limit, len(feed))
	page := struct {
		Data       []json.RawMessage `json:"data"`
		NextCursor string            `json:"next_cursor"`
		HasMore    bool              `json:"has_more"`
	}{Data: make([]json.RawMessage, 0, end-offset), NextCursor: encodeCursor(end), HasMore: end < len(feed)}
	for _, i := range feed[offset:end] {
		b, err := json.Marshal(h.pop.NCOVIRecord(h.pop.Records[i]))
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "internal error")
			return
		}
		page.Data = append(page.Data, b)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(page)
}

// tokhaiyteHandler serves tokhaiyte's export: GET /export/khai-bao.csv?tu=&den= with
// X-Api-Key, the rows declared in the half-open window [tu, den), every other response
// starting with a UTF-8 byte-order mark.
type tokhaiyteHandler struct {
	pop       *Population
	key       string
	responses atomic.Int64
}

func (h *tokhaiyteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/export/khai-bao.csv" {
		writeError(w, http.StatusNotFound, "not_found", "no such resource")
		return
	}
	if !tokenEqual(r.Header.Get("X-Api-Key"), h.key) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong X-Api-Key")
		return
	}
	q := r.URL.Query()
	from, err1 := time.Parse(time.RFC3339Nano, q.Get("tu"))
	to, err2 := time.Parse(time.RFC3339Nano, q.Get("den"))
	if err1 != nil || err2 != nil || to.Before(from) {
		writeError(w, http.StatusBadRequest, "bad_window", "tu and den must be RFC 3339 times with tu <= den")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	if h.responses.Add(1)%2 == 0 {
		_, _ = w.Write([]byte{0xEF, 0xBB, 0xBF})
	}
	_, _ = w.Write(tokhaiyteHeader)
	for _, i := range h.pop.TokhaiyteWindow(from, to) {
		_, _ = w.Write(h.pop.TokhaiyteLine(h.pop.Records[i]))
	}
}

// TokhaiyteWindow returns the indices of the tokhaiyte records declared in [from, to), by
// declaration time.
func (p *Population) TokhaiyteWindow(from, to time.Time) []int {
	rows := p.tokhaiyte
	lo := sort.Search(len(rows), func(i int) bool { return !p.Records[rows[i]].DeclaredAt.Before(from) })
	hi := sort.Search(len(rows), func(i int) bool { return !p.Records[rows[i]].DeclaredAt.Before(to) })
	if hi < lo {
		hi = lo
	}
	return rows[lo:hi]
}

// registryHandler serves the population register: GET /v1/citizens/{cccd}.
type registryHandler struct {
	pop *Population
}

func (h *registryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cccd, ok := strings.CutPrefix(r.URL.Path, "/v1/citizens/")
	if r.Method != http.MethodGet || !ok || cccd == "" || strings.Contains(cccd, "/") {
		writeError(w, http.StatusNotFound, "not_found", "no such resource")
		return
	}
	c, ok := h.pop.Citizen(cccd)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no citizen has this number")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(c)
}

// tokenEqual compares credentials in constant time.
func tokenEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
