package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lienthong/lienthong/gateway/keys"
)

func get(t *testing.T, h http.Handler, path string, into any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if into != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), into); err != nil {
			t.Fatalf("%s: %v: %s", path, err, rec.Body.String())
		}
	}
	return rec.Code
}

// /readyz is 503 when a check fails and names it; details are shown whatever the result.
func TestReadiness(t *testing.T) {
	storeDown := errors.New("store unreachable")
	var down bool
	h := New(Config{Checks: []Check{
		{Name: "store", Ready: func(context.Context) error {
			if down {
				return storeDown
			}
			return nil
		}},
		{Name: "pull:ncovi", Ready: func(context.Context) error { return nil }, Detail: func() any { return map[string]string{"breaker": "open"} }},
	}})
	if code := get(t, h, "/healthz", nil); code != http.StatusOK {
		t.Fatalf("/healthz %d", code)
	}
	var body readiness
	if code := get(t, h, "/readyz", &body); code != http.StatusOK || body.Status != "ready" || len(body.Checks) != 2 {
		t.Fatalf("/readyz %d %+v", code, body)
	}
	down = true
	if code := get(t, h, "/readyz", &body); code != http.StatusServiceUnavailable || body.Checks[0].Error != storeDown.Error() {
		t.Fatalf("/readyz with the store down: %d %+v", code, body)
	}
	if d, ok := body.Checks[1].Detail.(map[string]any); !ok || d["breaker"] != "open" {
		t.Fatalf("partner detail lost: %+v", body.Checks[1])
	}
}

// /keys publishes every verifying key with the signing one marked current, also after a
// rotation.
func TestPublicKeys(t *testing.T) {
	ring := keys.NewMemoryRing(keys.Options{})
	if _, err := ring.Rotate(); err != nil {
		t.Fatal(err)
	}
	h := New(Config{Keys: ring})
	var body struct {
		Keys []PublicKey `json:"keys"`
	}
	if code := get(t, h, "/keys", &body); code != http.StatusOK || len(body.Keys) != 2 {
		t.Fatalf("/keys %d %+v", code, body)
	}
	current := 0
	for _, k := range body.Keys {
		if k.Current {
			current++
			if !k.RetiredAt.IsZero() {
				t.Fatalf("a retired key is marked current: %+v", k)
			}
		}
		if k.Algorithm != "Ed25519" || len(k.PublicKey) != 43 {
			t.Fatalf("key %+v: want Ed25519 with a 32-byte base64url public key", k)
		}
	}
	if current != 1 {
		t.Fatalf("%d keys marked current, want 1", current)
	}
}
