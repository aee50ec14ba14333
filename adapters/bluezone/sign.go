package bluezone

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// The webhook's headers.
const (
	HeaderTimestamp = "X-Bluezone-Timestamp" // Unix seconds
	HeaderSignature = "X-Bluezone-Signature" // "sha256=" + lower-case hex HMAC
	// Path is where the gateway serves the webhook.
	Path = "/partners/bluezone/v1/declarations"
)

// Sign returns the X-Bluezone-Signature header value for a body sent with the given
// X-Bluezone-Timestamp header value: "sha256=" and the lower-case hex of
// HMAC-SHA256(secret, timestamp + "." + body).
func Sign(secret []byte, timestamp string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, timestamp, body))
}

// Timestamp formats t as the X-Bluezone-Timestamp header value (Unix seconds).
func Timestamp(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
