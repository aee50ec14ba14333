// Package httpapi serves the gateway's HTTP port: partner webhooks, health and readiness,
// Prometheus metrics and the public QR verification keys.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/lienthong/lienthong/gateway/keys"
)

// Check is one readiness check: nil when ready. Detail is shown in /readyz whatever the result.
type Check struct {
	Name   string
	Ready  func(ctx context.Context) error
	Detail func() any // may be nil
}

// Config wires the HTTP handler.
type Config struct {
	Bluezone http.Handler // the Bluezone webhook; nil when the partner is not enabled
	Metrics  http.Handler // Prometheus exposition; nil for none
	Keys     *keys.Ring
	Checks   []Check
}

// BluezonePath is where Bluezone pushes its batches.
const BluezonePath = "/partners/bluezone/v1/declarations"

// New returns the handler of the HTTP port.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	if cfg.Bluezone != nil {
		mux.Handle("POST "+BluezonePath, cfg.Bluezone)
	}
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		code, body := http.StatusOK, readiness{Status: "ready"}
		for _, c := range cfg.Checks {
			res := checkResult{Name: c.Name, Ready: true}
			if err := c.Ready(ctx); err != nil {
				res.Ready, res.Error = false, err.Error()
				code, body.Status = http.StatusServiceUnavailable, "not ready"
			}
			if c.Detail != nil {
				res.Detail = c.Detail()
			}
			body.Checks = append(body.Checks, res)
		}
		writeJSON(w, code, body)
	})
	if cfg.Keys != nil {
		mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, publicKeys(cfg.Keys))
		})
	}
	return mux
}

type readiness struct {
	Status string        `json:"status"`
	Checks []checkResult `json:"checks"`
}

type checkResult struct {
	Name   string `json:"name"`
	Ready  bool   `json:"ready"`
	Error  string `json:"error,omitempty"`
	Detail any    `json:"detail,omitempty"`
}

// PublicKey is one verification key as published at /keys.
type PublicKey struct {
	KeyID     string    `json:"key_id"`
	Algorithm string    `json:"alg"`        // "Ed25519"
	PublicKey string    `json:"public_key"` // base64url, no padding
	Created   time.Time `json:"created"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
	Current   bool      `json:"current"`
}

func publicKeys(r *keys.Ring) map[string]any {
	ks := r.Keys()
	out := make([]PublicKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, PublicKey{
			KeyID:     k.ID,
			Algorithm: "Ed25519",
			PublicKey: base64.RawURLEncoding.EncodeToString(k.Public()),
			Created:   k.Created,
			RetiredAt: k.RetiredAt,
			Current:   k.RetiredAt.IsZero(),
		})
	}
	return map[string]any{"keys": out, "qr_validity_seconds": int64(r.Validity() / time.Second)}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
