package ingest_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/registry"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/canonical/qr"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/keys"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
)

var now = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

// declaration is An's tokhaiyte declaration as an adapter would hand it over: not normalized.
func declaration(recordID string) canonical.Declaration {
	return canonical.Declaration{
		Source: canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: recordID, Version: "1"},
		Person: canonical.Person{
			FullName: "  NGUYỄN   VĂN AN ", BirthDate: canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear},
			Gender: canonical.GenderMale, Nationality: "Việt Nam",
			Document: canonical.Document{Number: "079090001234"}, Phone: "0912 345 678",
		},
		Address:    canonical.Address{Province: "Thành phố Hồ Chí Minh"},
		DeclaredAt: now.Add(-time.Hour),
	}
}

type world struct {
	store   *boltstore.Store
	deriver *identity.Deriver
	ring    *keys.Ring
}

func newWorld(t *testing.T) world {
	t.Helper()
	st, err := boltstore.Open(t.TempDir()+"/lienthong.db", boltstore.Options{Now: fixedNow, NoSync: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := identity.NewDeriver([]byte("lienthong-test-identity-secret!!"))
	if err != nil {
		t.Fatal(err)
	}
	return world{store: st, deriver: d, ring: keys.NewMemoryRing(keys.Options{Now: fixedNow})}
}

func TestPrepareNormalizesValidatesAndKeys(t *testing.T) {
	w := newWorld(t)
	p := ingest.New(ingest.Config{Store: w.store, Deriver: w.deriver, Now: fixedNow})
	cccd := w.deriver.QRID(identity.Key{Kind: identity.KindCCCD, Value: "079090001234"})

	noID := declaration("TK-3")
	noID.Person.Document, noID.Person.Phone = canonical.Document{}, ""
	weak := declaration("TK-4")
	weak.Person.Document = canonical.Document{}
	bad := declaration("TK-5")
	bad.Person.BirthDate.Year = 1991 // the CCCD says 1990
	bad.DeclaredAt = time.Time{}

	tests := []struct {
		name     string
		d        canonical.Declaration
		qrid     string // "" for a rejection
		verified bool
		reasons  []string // field:reason, for a rejection
	}{
		{"CCCD", declaration("TK-1"), cccd, true, nil},
		// No document: keyed by phone, name and birth year, and flagged unverified.
		{"weak key", weak, w.deriver.QRID(identity.Key{Kind: identity.KindWeak, Value: "+84912345678|nguyen van an|1990"}), false, nil},
		// Valid, but nothing identifies the person: rejected with a reason, not dropped.
		{"unidentifiable", noID, "", false, []string{"person.phone:required"}},
		// Every broken rule is listed.
		{"invalid", bad, "", false, []string{"declared_at:required", "person.document.number:cccd_birth_year"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := p.Prepare(context.Background(), tc.d, now)
			if (it.Accepted == nil) == (it.Rejected == nil) {
				t.Fatalf("item %+v: exactly one of accepted and rejected must be set", it)
			}
			if tc.qrid == "" {
				if it.Rejected == nil {
					t.Fatalf("accepted as %s, want rejected %v", it.Accepted.QRID, tc.reasons)
				}
				var got []string
				for _, v := range it.Rejected.Violations {
					got = append(got, v.Field+":"+string(v.Reason))
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.reasons) {
					t.Fatalf("violations %v, want %v", got, tc.reasons)
				}
				return
			}
			if it.Accepted == nil {
				t.Fatalf("rejected: %v", it.Rejected.Violations)
			}
			a := it.Accepted
			if a.QRID != tc.qrid || a.Verified != tc.verified {
				t.Fatalf("qr_id %s verified %v, want %s %v", a.QRID, a.Verified, tc.qrid, tc.verified)
			}
			n := a.Declaration
			if n.Person.Phone != "+84912345678" || n.Address.ProvinceCode != "79" || n.Person.Nationality != "VN" || !n.ReceivedAt.Equal(now) {
				t.Errorf("not normalized: phone %q province %q nationality %q received %v", n.Person.Phone, n.Address.ProvinceCode, n.Person.Nationality, n.ReceivedAt)
			}
		})
	}
	// A CCCD declaration with a phone carries its weak key as an alias, so the person's
	// earlier weak-keyed declarations join the CCCD identity.
	it := p.Prepare(context.Background(), declaration("TK-1"), now)
	if !slices.Contains(it.Accepted.Aliases, tests[1].qrid) {
		t.Errorf("aliases %v, want the weak key's QR id", it.Accepted.Aliases)
	}
}

// register is a fake population register (the real one is a partner system we cannot reach).
type register struct{ verdict registry.Verdict }

func (r register) Check(context.Context, canonical.Declaration) registry.Verdict { return r.verdict }

func TestPrepareConsultsTheRegister(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		verdict  registry.Verdict
		rejected bool
		verified bool
	}{
		{"register agrees", registry.Verdict{}, false, true},
		{"register disagrees", registry.Verdict{Violations: []canonical.Violation{{Field: "person.full_name", Reason: canonical.ReasonRegistryMismatch}}}, true, false},
		// The register was down and the policy is to accept flagged.
		{"register unavailable, flag", registry.Verdict{Unverified: true}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ingest.New(ingest.Config{Store: w.store, Deriver: w.deriver, Now: fixedNow, Register: register{tc.verdict}})
			it := p.Prepare(context.Background(), declaration("TK-1"), now)
			if (it.Rejected != nil) != tc.rejected {
				t.Fatalf("rejected %v, want %v", it.Rejected != nil, tc.rejected)
			}
			if it.Accepted != nil && it.Accepted.Verified != tc.verified {
				t.Fatalf("verified %v, want %v", it.Accepted.Verified, tc.verified)
			}
		})
	}
}

type observed struct {
	platform canonical.Platform
	outcome  store.Outcome
	reasons  []canonical.Reason
}

func TestIngestAnswersEveryItemInOrder(t *testing.T) {
	w := newWorld(t)
	var mu sync.Mutex
	var seen []observed
	p := ingest.New(ingest.Config{Store: w.store, Deriver: w.deriver, Now: fixedNow, Issuer: w.ring,
		Observe: func(src canonical.Source, r store.Result, rs []canonical.Reason) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, observed{src.Platform, r.Outcome, rs})
		}})
	bad := declaration("TK-bad")
	bad.DeclaredAt = time.Time{}
	batch := []canonical.Declaration{declaration("TK-1"), bad, declaration("TK-1")}
	res, err := p.Ingest(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"accepted", "rejected", "duplicate"}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("item %d: %s, want %s", i, r.Outcome, want[i])
		}
	}
	tok, err := qr.Verify(res[0].SignedQR, w.ring, now)
	if err != nil || tok.QRID != res[0].QRID {
		t.Errorf("signed QR of item 0: %+v, %v", tok, err)
	}
	if res[1].SignedQR != "" || res[1].QRID != "" || len(res[1].Violations) == 0 {
		t.Errorf("rejected item: %+v", res[1])
	}
	if res[2].QRID != res[0].QRID {
		t.Errorf("duplicate names %s, the original %s", res[2].QRID, res[0].QRID)
	}
	// The observer saw every item, with the rejection's reasons.
	if len(seen) != 3 || seen[0].outcome != store.OutcomeAccepted || seen[1].outcome != store.OutcomeRejected ||
		seen[2].outcome != store.OutcomeDuplicate || !slices.Equal(seen[1].reasons, []canonical.Reason{canonical.ReasonRequired}) ||
		seen[0].platform != canonical.PlatformTokhaiyte {
		t.Errorf("observed %+v", seen)
	}

	// Sent again: the rejected record is answered rejected again (the partner must learn why),
	// and the observer gets the store's outcome, so metrics do not count it twice.
	seen = nil
	res, err = p.Ingest(context.Background(), batch[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != "rejected" || len(res[0].Violations) == 0 || seen[0].outcome != store.OutcomeDuplicate {
		t.Errorf("rejected record again: %+v, observed %+v", res[0], seen)
	}

	// The unsigned sink stores the same way and signs nothing.
	res, err = p.Unsigned().Ingest(context.Background(), []canonical.Declaration{declaration("TK-2")})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != "accepted" || res[0].QRID == "" || res[0].SignedQR != "" {
		t.Errorf("unsigned sink: %+v", res[0])
	}
}

// refilingStore is the real store that answers every accepted item as filed under another
// identity, as the store does when the QR id an item was keyed to has become an alias.
type refilingStore struct {
	*boltstore.Store
	to string
}

func (s refilingStore) WriteBatch(ctx context.Context, items []store.Item) ([]store.Result, error) {
	rs, err := s.Store.WriteBatch(ctx, items)
	for i := range rs {
		if rs[i].QRID != "" {
			rs[i].QRID = s.to
		}
	}
	return rs, err
}

// countingIssuer counts the QRs it signs.
type countingIssuer struct {
	ingest.Issuer
	mu     sync.Mutex
	signed []string
}

func (c *countingIssuer) Issue(qrid string) (string, error) {
	c.mu.Lock()
	c.signed = append(c.signed, qrid)
	c.mu.Unlock()
	return c.Issuer.Issue(qrid)
}

// The QRs are signed while the store writes; the answer carries the QR of the identity the
// store filed the item under, whichever it is.
func TestIngestSignsTheIdentityTheStoreFiledUnder(t *testing.T) {
	w := newWorld(t)
	other := declaration("TK-0")
	other.Person.Document.Number = "079090004321"
	target := ingest.New(ingest.Config{Store: w.store, Deriver: w.deriver, Now: fixedNow}).
		Prepare(context.Background(), other, now).Accepted.QRID
	iss := &countingIssuer{Issuer: w.ring}
	p := ingest.New(ingest.Config{Store: refilingStore{w.store, target}, Deriver: w.deriver, Now: fixedNow, Issuer: iss})
	keyed := p.Prepare(context.Background(), declaration("TK-1"), now).Accepted.QRID
	if keyed == target {
		t.Fatal("two people keyed to one QR id")
	}
	res, err := p.Ingest(context.Background(), []canonical.Declaration{declaration("TK-1")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := qr.Verify(res[0].SignedQR, w.ring, now)
	if err != nil || res[0].QRID != target || tok.QRID != target {
		t.Errorf("answer %+v: signed QR of %q (%v), want %q", res[0], tok.QRID, err, target)
	}
	if !slices.Equal(iss.signed, []string{keyed, target}) {
		t.Errorf("signed %q, want the keyed id %q, then the store's", iss.signed, keyed)
	}

	// Filed under the id it was keyed to, the item's QR is signed once.
	iss.signed = nil
	p = ingest.New(ingest.Config{Store: w.store, Deriver: w.deriver, Now: fixedNow, Issuer: iss})
	res, err = p.Ingest(context.Background(), []canonical.Declaration{declaration("TK-2")})
	if err != nil || res[0].QRID != keyed {
		t.Fatalf("%+v, %v", res, err)
	}
	if tok, err := qr.Verify(res[0].SignedQR, w.ring, now); err != nil || tok.QRID != keyed || len(iss.signed) != 1 {
		t.Errorf("signed QR of %q (%v) after %d signatures, want %q after one", tok.QRID, err, len(iss.signed), keyed)
	}
}

// failingIssuer cannot sign (a ring whose key is unusable).
type failingIssuer struct{}

func (failingIssuer) Issue(string) (string, error) { return "", errors.New("no signing key") }

// failingWriter is the real store that refuses to write, as a store that is down does.
type failingWriter struct{ *boltstore.Store }

func (failingWriter) WriteBatch(context.Context, []store.Item) ([]store.Result, error) {
	return nil, errs.Errorf(errs.Transient, "test", "store down")
}

func TestIngestFailures(t *testing.T) {
	w := newWorld(t)
	// A signing failure costs the signed QR, not the stored item.
	p := ingest.New(ingest.Config{Store: w.store, Deriver: w.deriver, Now: fixedNow, Issuer: failingIssuer{}})
	res, err := p.Ingest(context.Background(), []canonical.Declaration{declaration("TK-1")})
	if err != nil || res[0].Outcome != "accepted" || res[0].SignedQR != "" {
		t.Fatalf("with a failing issuer: %+v, %v", res, err)
	}
	// A store failure is the batch's error: nothing is answered per item.
	p = ingest.New(ingest.Config{Store: failingWriter{w.store}, Deriver: w.deriver, Now: fixedNow, Issuer: w.ring})
	res, err = p.Ingest(context.Background(), []canonical.Declaration{declaration("TK-2")})
	if !errs.Is(err, errs.Transient) || res != nil {
		t.Fatalf("with the store down: %v, %v; want a transient error and no results", res, err)
	}
}
