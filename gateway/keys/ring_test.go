package keys

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/canonical/qr"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func testQRID(t *testing.T) string {
	t.Helper()
	d, err := identity.NewDeriver(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return d.QRID(identity.Key{Kind: identity.KindCCCD, Value: "079090001234"})
}

func TestRingPersistsAndReloads(t *testing.T) {
	dir := t.TempDir()
	c := &clock{time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)}
	r, created, err := OpenRing(dir, Options{Now: c.now})
	if err != nil || !created {
		t.Fatalf("first open: created=%v err=%v", created, err)
	}
	signed, err := r.Issue(testQRID(t))
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, SigningKeysFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("keys file: %v, mode %v; want owner-only", err, info.Mode())
	}
	again, created, err := OpenRing(dir, Options{Now: c.now})
	if err != nil || created {
		t.Fatalf("reopen: created=%v err=%v", created, err)
	}
	tok, err := qr.Verify(signed, again, c.now())
	if err != nil || tok.QRID != testQRID(t) {
		t.Fatalf("QR signed before restart does not verify after: %v", err)
	}
}

// After a rotation the old key keeps verifying the QRs it signed until they expire, then it
// is dropped.
func TestRotationKeepsOldKeysUntilTheirQRsExpire(t *testing.T) {
	c := &clock{time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)}
	r, _, err := OpenRing(t.TempDir(), Options{Now: c.now, Validity: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := r.Issue(testQRID(t))
	if _, err := r.Rotate(); err != nil {
		t.Fatal(err)
	}
	if len(r.Keys()) != 2 {
		t.Fatalf("after rotation %d keys published, want 2", len(r.Keys()))
	}
	c.t = c.t.Add(71 * time.Hour)
	if _, err := qr.Verify(old, r, c.now()); err != nil {
		t.Fatalf("old QR within its validity refused after rotation: %v", err)
	}
	c.t = c.t.Add(2 * time.Hour)
	if _, err := qr.Verify(old, r, c.now()); !errors.Is(err, qr.ErrUnknownKey) && !errors.Is(err, qr.ErrExpired) {
		t.Fatalf("old QR after expiry: %v, want unknown key or expired", err)
	}
	fresh, _ := r.Issue(testQRID(t))
	if _, err := qr.Verify(fresh, r, c.now()); err != nil {
		t.Fatalf("new QR refused: %v", err)
	}
	if ks := r.Keys(); len(ks) != 1 {
		t.Fatalf("retired key still published after its QRs expired: %d keys", len(ks))
	}
}

func TestIdentitySecretIsGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	s1, created, err := LoadIdentitySecret(dir)
	if err != nil || !created || len(s1) != 32 {
		t.Fatalf("first load: %d bytes created=%v err=%v", len(s1), created, err)
	}
	s2, created, err := LoadIdentitySecret(dir)
	if err != nil || created || string(s1) != string(s2) {
		t.Fatalf("second load differs or regenerated: created=%v err=%v", created, err)
	}
	os.WriteFile(filepath.Join(dir, IdentitySecretFile), []byte("c2hvcnQ=\n"), 0o600)
	if _, _, err := LoadIdentitySecret(dir); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

// Issuing again within ReissueAfter hands out the same QR; after it, or after a rotation, a
// fresh one.
func TestIssueReusesRecentQR(t *testing.T) {
	c := &clock{time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)}
	r, _, err := OpenRing(t.TempDir(), Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	id := testQRID(t)
	first, _ := r.Issue(id)
	c.t = c.t.Add(ReissueAfter - time.Second)
	if again, _ := r.Issue(id); again != first {
		t.Fatal("a QR issued moments ago was signed again")
	}
	c.t = c.t.Add(2 * time.Second)
	later, _ := r.Issue(id)
	if later == first {
		t.Fatal("a QR older than ReissueAfter was handed out again")
	}
	tok, err := qr.Verify(later, r, c.now())
	if err != nil || !tok.IssuedAt.Equal(c.now().Truncate(time.Second)) {
		t.Fatalf("fresh QR: %v, issued %v", err, tok.IssuedAt)
	}
	if _, err := r.Rotate(); err != nil {
		t.Fatal(err)
	}
	rotated, _ := r.Issue(id)
	if got, _ := qr.Verify(rotated, r, c.now()); got.KeyID == tok.KeyID {
		t.Fatal("after a rotation the cached QR of the old key was handed out")
	}
}
