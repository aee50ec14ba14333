// Package keys keeps the gateway's secrets: the Ed25519 keys that sign QR codes (with rotation)
// and the identity secret that keys QR ids, persisted in the data folder.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/qr"
)

// File names inside the data folder.
const (
	SigningKeysFile    = "signing-keys.json"
	IdentitySecretFile = "identity-secret"
)

// Key is one signing key.
type Key struct {
	ID        string             `json:"id"`
	Private   ed25519.PrivateKey `json:"private"`
	Created   time.Time          `json:"created"`
	RetiredAt time.Time          `json:"retired_at,omitempty"` // zero while it signs
}

// Public returns the key's public half.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// Ring holds the signing keys: the newest signs, retired ones verify until the QRs they signed
// have expired. It implements qr.KeySet and is safe for concurrent use.
type Ring struct {
	path     string // "" for a ring that is not persisted
	validity time.Duration
	now      func() time.Time

	mu     sync.RWMutex
	keys   []Key // oldest first; the last is the signer
	signer *qr.Signer
	issued map[string]issuedQR // recently issued QRs by QR id
}

var _ qr.KeySet = (*Ring)(nil)

// Options configure a Ring.
type Options struct {
	Validity time.Duration    // how long an issued QR is valid (default 72 h)
	Now      func() time.Time // default time.Now
}

// OpenRing loads the signing keys from dir, generating and saving a first key when there is
// none. created reports whether a key was generated (the caller logs it loudly).
func OpenRing(dir string, opts Options) (ring *Ring, created bool, err error) {
	const op = "keys.OpenRing"
	r := newRing(filepath.Join(dir, SigningKeysFile), opts)
	data, err := os.ReadFile(r.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := r.Rotate(); err != nil {
			return nil, false, err
		}
		return r, true, nil
	case err != nil:
		return nil, false, errs.E(errs.Other, op, err)
	}
	if err := json.Unmarshal(data, &r.keys); err != nil || len(r.keys) == 0 {
		return nil, false, errs.Errorf(errs.Invalid, op, "%s holds no valid signing keys: %v", r.path, err)
	}
	newest := r.keys[len(r.keys)-1]
	if r.signer, err = qr.NewSigner(newest.ID, newest.Private); err != nil {
		return nil, false, errs.E(errs.Invalid, op, fmt.Errorf("%s: %w", r.path, err))
	}
	return r, false, nil
}

// NewMemoryRing returns a ring with one fresh key that is never persisted (tests, demos).
func NewMemoryRing(opts Options) *Ring {
	r := newRing("", opts)
	if _, err := r.Rotate(); err != nil {
		panic(err) // only the system's random source can fail here
	}
	return r
}

func newRing(path string, opts Options) *Ring {
	if opts.Validity <= 0 {
		opts.Validity = 72 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Ring{path: path, validity: opts.Validity, now: opts.Now, issued: map[string]issuedQR{}}
}

// Validity is how long an issued QR is valid.
func (r *Ring) Validity() time.Duration { return r.validity }

// Issue signs a QR for qrid, valid from now for the ring's validity.
//
// A QR issued for the same identity within the last ReissueAfter is returned again instead of
// signing a new one (a partner pushing a person's declarations in one batch, or again minutes
// later, gets one QR): signing is the costliest step of an ingested item.
func (r *Ring) Issue(qrid string) (string, error) {
	now := r.now().UTC().Truncate(time.Second)
	r.mu.RLock()
	s := r.signer
	c, ok := r.issued[qrid]
	r.mu.RUnlock()
	if ok && c.signer == s && !now.Before(c.at) && now.Sub(c.at) < ReissueAfter {
		return c.qr, nil
	}
	signed, err := s.SignToken(qr.Token{QRID: qrid, IssuedAt: now, ExpiresAt: now.Add(r.validity)})
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	if len(r.issued) >= maxIssued {
		clear(r.issued) // a burst of new identities: start over rather than track ages
	}
	r.issued[qrid] = issuedQR{qr: signed, at: now, signer: s}
	r.mu.Unlock()
	return signed, nil
}

// ReissueAfter is how long an issued QR is handed out again before a fresh one is signed; a
// QR handed out is valid for at least the validity minus this.
const ReissueAfter = 10 * time.Minute

// maxIssued bounds the cache of recently issued QRs.
const maxIssued = 200_000

type issuedQR struct {
	qr     string
	at     time.Time
	signer *qr.Signer // a rotation makes every cached QR stale
}

// PublicKey returns the public key of keyID while QRs it signed can still be valid.
func (r *Ring) PublicKey(keyID string) (ed25519.PublicKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.ID == keyID && r.verifies(k) {
			return k.Public(), true
		}
	}
	return nil, false
}

// verifies reports whether k can still have signed a valid QR.
func (r *Ring) verifies(k Key) bool {
	return k.RetiredAt.IsZero() || r.now().Before(k.RetiredAt.Add(r.validity))
}

// Keys returns the keys that still verify, newest first.
func (r *Ring) Keys() []Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Key
	for _, k := range r.keys {
		if r.verifies(k) {
			out = append(out, k)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out
}

// Rotate generates a new signing key; the previous signer is retired and keeps verifying
// until the QRs it signed have expired. Keys past that are dropped.
func (r *Ring) Rotate() (Key, error) {
	const op = "keys.Rotate"
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, errs.E(errs.Other, op, err)
	}
	now := r.now().UTC()
	var idBytes [6]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return Key{}, errs.E(errs.Other, op, err)
	}
	k := Key{ID: base64.RawURLEncoding.EncodeToString(idBytes[:]), Private: priv, Created: now}
	signer, err := qr.NewSigner(k.ID, k.Private)
	if err != nil {
		return Key{}, errs.E(errs.Other, op, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	kept := make([]Key, 0, len(r.keys)+1)
	for _, old := range r.keys {
		if old.RetiredAt.IsZero() {
			old.RetiredAt = now
		}
		if r.verifies(old) {
			kept = append(kept, old)
		}
	}
	kept = append(kept, k)
	if r.path != "" {
		if err := writeJSON(r.path, kept); err != nil {
			return Key{}, errs.E(errs.Other, op, err)
		}
	}
	r.keys = kept
	r.signer = signer
	return k, nil
}

// LoadIdentitySecret reads the identity secret from dir, generating and saving 32 random bytes
// when there is none. created reports whether it was generated.
func LoadIdentitySecret(dir string) (secret []byte, created bool, err error) {
	const op = "keys.LoadIdentitySecret"
	path := filepath.Join(dir, IdentitySecretFile)
	data, err := os.ReadFile(path)
	if err == nil {
		secret, err = base64.StdEncoding.DecodeString(string(trimSpace(data)))
		if err != nil || len(secret) < 32 {
			return nil, false, errs.Errorf(errs.Invalid, op, "%s: not a base64 secret of at least 32 bytes", path)
		}
		return secret, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, errs.E(errs.Other, op, err)
	}
	secret = make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, errs.E(errs.Other, op, err)
	}
	if err := writeFile(path, []byte(base64.StdEncoding.EncodeToString(secret)+"\n")); err != nil {
		return nil, false, errs.E(errs.Other, op, err)
	}
	return secret, true, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, data)
}

// writeFile writes data to path atomically (temp file, fsync, rename), readable by the owner only.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	return nil
}
