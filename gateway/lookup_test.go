package gateway_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/canonical/qr"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// qridOf is the QR id the gateway derives for p's document (its CCCD or CMND).
func (h *harness) qridOf(p person) string {
	kind := identity.KindCCCD
	if p.docType == lienthongv1.DocumentType_DOCUMENT_TYPE_CMND {
		kind = identity.KindCMND
	}
	return h.deriver.QRID(identity.Key{Kind: kind, Value: p.doc})
}

// chipCardQR is the QR printed on p's chip ID card.
func chipCardQR(p person) string {
	g := "Nam"
	if p.gender == lienthongv1.Gender_GENDER_FEMALE {
		g = "Nữ"
	}
	return fmt.Sprintf("%s||%s|%02d%02d%04d|%s|12 Lê Lợi, Quận 1, TP. Hồ Chí Minh|01072021", p.doc, p.name, p.day, p.month, p.year, g)
}

// personal1405QR is p's decision-1405 personal QR; masked hides all but the last 4 digits.
func personal1405QR(p person, qid string, masked bool) string {
	num := p.doc
	if masked {
		num = qr.MaskDocumentNumber(num)
	}
	return qr.FormatPersonal1405(qr.Scan{
		Document: canonical.Document{Number: num}, FullName: p.name, QID: qid,
		BirthDate: canonical.BirthDate{Year: int(p.year), Month: int(p.month), Day: int(p.day), Precision: canonical.PrecisionDay},
	})
}

// lookup looks raw up as the province-79 checkpoint and fails the test on an error.
func lookup(t *testing.T, h *harness, raw string) *lienthongv1.LookupResponse {
	t.Helper()
	resp, err := h.client(tokCheckpoint).checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: raw})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return resp
}

// lookupWorld is a harness with the test people declared.
type lookupWorld struct {
	h        *harness
	anQR     string // An's QR id
	anSigned string // An's signed QR from the ncovi submission
	cuongQR  string
}

func newLookupWorld(t *testing.T) *lookupWorld {
	h := newHarness(t)
	now := h.clock.Now()
	tk, nc := h.client(tokTokhaiyte), h.client(tokNCOVI)
	a1 := accepted(t, tk, decl("tokhaiyte", "TK-an", an, now.Add(-5*time.Hour)))
	a2 := accepted(t, nc, decl("ncovi", "NC-an", an, now.Add(-2*time.Hour)))
	if a1.GetQrId() != a2.GetQrId() || a1.GetQrId() != h.qridOf(an) {
		t.Fatalf("An's declarations on two platforms got QR ids %s and %s", a1.GetQrId(), a2.GetQrId())
	}
	accepted(t, nc, decl("ncovi", "NC-binh", binh, now.Add(-time.Hour), withSymptoms("fever")))
	// Chi: exposed, and the two platforms disagree on her birth year.
	accepted(t, tk, decl("tokhaiyte", "TK-chi", chi, now.Add(-4*time.Hour)))
	accepted(t, nc, decl("ncovi", "NC-chi", chi, now.Add(-3*time.Hour), withBirthYear(1986), withExposures("from_affected_area")))
	// Cường declared 73 hours ago, without a document.
	c := accepted(t, tk, decl("tokhaiyte", "TK-cuong", cuong, now.Add(-73*time.Hour)))
	return &lookupWorld{h: h, anQR: a1.GetQrId(), anSigned: a2.GetSignedQr(), cuongQR: c.GetQrId()}
}

func TestLookupEveryQRFormNamesOnePerson(t *testing.T) {
	w := newLookupWorld(t)
	tests := []struct {
		name string
		qr   string
		form lienthongv1.QRForm
	}{
		{"signed QR", w.anSigned, lienthongv1.QRForm_QR_FORM_SIGNED},
		// Scanners add line ends and spaces.
		{"signed QR with a line end", " " + w.anSigned + "\r\n", lienthongv1.QRForm_QR_FORM_SIGNED},
		{"bare QR id", w.anQR, lienthongv1.QRForm_QR_FORM_QR_ID},
		// A QR id read aloud and typed in upper case.
		{"bare QR id in upper case", strings.ToUpper(w.anQR), lienthongv1.QRForm_QR_FORM_QR_ID},
		{"chip card", chipCardQR(an), lienthongv1.QRForm_QR_FORM_CHIP_CARD},
		{"1405 masked number, QID is the QR id", personal1405QR(an, w.anQR, true), lienthongv1.QRForm_QR_FORM_PERSONAL_1405},
		// Another system's QID: the unmasked number keys the person.
		{"1405 unmasked number", personal1405QR(an, "VNQID00012345", false), lienthongv1.QRForm_QR_FORM_PERSONAL_1405},
		// A QID shaped like a QR id that the gateway does not know: the number still finds them.
		{"1405 unknown QR-id-shaped QID, unmasked number", personal1405QR(an, strings.Repeat("a", 24), false), lienthongv1.QRForm_QR_FORM_PERSONAL_1405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := lookup(t, w.h, tc.qr)
			if resp.GetQrId() != w.anQR || resp.GetQrForm() != tc.form || resp.GetStatus() != lienthongv1.Status_STATUS_CLEAR {
				t.Fatalf("qr_id %s form %v status %v, want %s %v CLEAR", resp.GetQrId(), resp.GetQrForm(), resp.GetStatus(), w.anQR, tc.form)
			}
			if !slices.Equal(resp.GetPlatforms(), []string{"ncovi", "tokhaiyte"}) {
				t.Errorf("platforms %v, want [ncovi tokhaiyte]", resp.GetPlatforms())
			}
			// The newest declaration is NCOVI's, 2 hours old: valid 70 hours more.
			if resp.GetNewest().GetPlatform() != "ncovi" || !resp.GetValidUntil().AsTime().Equal(t0.Add(70*time.Hour)) {
				t.Errorf("newest %s valid until %v", resp.GetNewest().GetPlatform(), resp.GetValidUntil().AsTime())
			}
		})
	}
	// A 1405 QR with a masked number and a foreign QID names nobody the gateway can key.
	resp := lookup(t, w.h, personal1405QR(an, "VNQID00012345", true))
	if resp.GetStatus() != lienthongv1.Status_STATUS_NONE || resp.GetQrId() != "" {
		t.Errorf("masked 1405 QR with a foreign QID: status %v qr_id %q, want NONE and none", resp.GetStatus(), resp.GetQrId())
	}
}

func TestLookupStatusesAndFlags(t *testing.T) {
	w := newLookupWorld(t)
	tests := []struct {
		name         string
		qr           string
		status       lienthongv1.Status
		unverified   bool
		inconsistent []lienthongv1.ComparedField
	}{
		{"declared recently, healthy", chipCardQR(an), lienthongv1.Status_STATUS_CLEAR, false, nil},
		{"declared a symptom", chipCardQR(binh), lienthongv1.Status_STATUS_SCREEN, false, nil},
		// Chi's newest declaration (NCOVI) has an exposure and no symptom; the platforms
		// disagree on her birth year.
		{"declared an exposure", w.h.qridOf(chi), lienthongv1.Status_STATUS_SCREEN, false, []lienthongv1.ComparedField{lienthongv1.ComparedField_COMPARED_FIELD_BIRTH_DATE}},
		// Newest declaration 73 h old, and keyed without a document.
		{"stale and unverified", w.cuongQR, lienthongv1.Status_STATUS_STALE, true, nil},
		{"never declared", chipCardQR(dung), lienthongv1.Status_STATUS_NONE, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := lookup(t, w.h, tc.qr)
			if resp.GetStatus() != tc.status {
				t.Fatalf("status %v, want %v", resp.GetStatus(), tc.status)
			}
			if tc.status == lienthongv1.Status_STATUS_NONE {
				if resp.GetPerson() != nil || resp.GetNewest() != nil || resp.GetValidUntil() != nil {
					t.Errorf("NONE answer carries person/newest/valid_until: %v", resp)
				}
				return
			}
			f := resp.GetFlags()
			if f.GetUnverifiedIdentity() != tc.unverified {
				t.Errorf("unverified_identity %v, want %v", f.GetUnverifiedIdentity(), tc.unverified)
			}
			if f.GetInconsistent() != (len(tc.inconsistent) > 0) || !slices.Equal(f.GetInconsistentFields(), tc.inconsistent) {
				t.Errorf("inconsistent %v fields %v, want %v", f.GetInconsistent(), f.GetInconsistentFields(), tc.inconsistent)
			}
		})
	}
}

func TestLookupTurnsStaleByTheClock(t *testing.T) {
	w := newLookupWorld(t)
	// An's newest declaration is 2 hours old: CLEAR for 70 more hours, STALE after.
	w.h.clock.Advance(70*time.Hour - time.Second)
	if st := lookup(t, w.h, w.anQR).GetStatus(); st != lienthongv1.Status_STATUS_CLEAR {
		t.Fatalf("1 s before the window ends: %v, want CLEAR", st)
	}
	w.h.clock.Advance(2 * time.Second)
	resp := lookup(t, w.h, w.anQR)
	if resp.GetStatus() != lienthongv1.Status_STATUS_STALE {
		t.Fatalf("1 s after the window ends: %v, want STALE", resp.GetStatus())
	}
	if !resp.GetValidUntil().AsTime().Before(w.h.clock.Now()) {
		t.Errorf("STALE answer valid until %v, which is not in the past", resp.GetValidUntil().AsTime())
	}
}

func TestLookupPersonSummaryIsMasked(t *testing.T) {
	w := newLookupWorld(t)
	resp := lookup(t, w.h, chipCardQR(an))
	p := resp.GetPerson()
	if p.GetDocumentMasked() != "********1234" || p.GetDocumentType() != lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD || p.GetBirthYear() != 1990 || p.GetFullName() == "" {
		t.Fatalf("person summary %v", p)
	}
	// Nowhere in the answer is the full number or the phone.
	text := prototext.Format(resp)
	for _, secret := range []string{an.doc, an.phone, "912345678"} {
		if strings.Contains(text, secret) {
			t.Errorf("lookup answer contains %q:\n%s", secret, text)
		}
	}
}

func TestLookupRefusesBadSignedQRs(t *testing.T) {
	w := newLookupWorld(t)
	now := w.h.clock.Now()
	cur := w.h.ring.Keys()[0]
	sign := func(t *testing.T, id string, priv ed25519.PrivateKey, iat, exp time.Time) string {
		t.Helper()
		s, err := qr.NewSigner(id, priv)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.SignToken(qr.Token{QRID: w.anQR, IssuedAt: iat, ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	forged := []byte(w.anSigned)
	// Flip one character of the signature (the end of the text).
	if forged[len(forged)-5] == 'A' {
		forged[len(forged)-5] = 'B'
	} else {
		forged[len(forged)-5] = 'A'
	}
	tests := []struct {
		name string
		qr   string
		says string // what the operator reads, in the violation's description
	}{
		{"forged signature", string(forged), "signature"},
		// The person must show a fresh QR: the message says so.
		{"expired", sign(t, cur.ID, cur.Private, now.Add(-80*time.Hour), now.Add(-8*time.Hour)), "expired"},
		// The current key's id, someone else's key.
		{"wrong key", sign(t, cur.ID, otherPriv, now, now.Add(time.Hour)), "signature"},
		{"unknown key id", sign(t, "k-unknown", otherPriv, now, now.Add(time.Hour)), "unknown key"},
		{"truncated", w.anSigned[:len(w.anSigned)-20], "truncated"},
		{"newer format", "LT2.AAAA", "update the checkpoint app"},
		{"garbage", "hello world", "not a QR code"},
		{"empty", "", ""},
		{"over 2 KiB", strings.Repeat("A", 2049), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.h.client(tokCheckpoint).checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: tc.qr})
			wantViolation(t, err, "qr", "malformed")
			if d := violationDescription(err); !strings.Contains(d, tc.says) {
				t.Errorf("description %q does not say %q", d, tc.says)
			}
		})
	}
}

// TestLookupFollowsAnAlias: a person first keyed by phone, name and birth year who later
// declares with a CCCD keeps one identity, so the QR they were first given keeps working.
func TestLookupFollowsAnAlias(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	tk := h.client(tokTokhaiyte)
	weak := accepted(t, tk, decl("tokhaiyte", "TK-1", cuong, now.Add(-3*time.Hour)))
	withCCCD := cuong
	withCCCD.docType, withCCCD.doc = lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, "079080012345"
	strong := accepted(t, h.client(tokBluezone), decl("bluezone", "BZ-1", withCCCD, now.Add(-time.Hour)))
	if strong.GetQrId() == weak.GetQrId() || strong.GetQrId() != h.qridOf(withCCCD) {
		t.Fatalf("strong identity %s, weak %s", strong.GetQrId(), weak.GetQrId())
	}
	for _, q := range []string{weak.GetQrId(), weak.GetSignedQr(), strong.GetSignedQr()} {
		resp := lookup(t, h, q)
		if resp.GetQrId() != strong.GetQrId() || resp.GetFlags().GetUnverifiedIdentity() || !slices.Equal(resp.GetPlatforms(), []string{"bluezone", "tokhaiyte"}) {
			t.Errorf("lookup %.12s...: qr_id %s unverified %v platforms %v; want the CCCD identity, verified, both platforms",
				q, resp.GetQrId(), resp.GetFlags().GetUnverifiedIdentity(), resp.GetPlatforms())
		}
	}
	// The first platform can still fetch the person's QR by the id it was given.
	resp, err := tk.ingest.GetSignedQR(ctx(t), &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: weak.GetQrId()}})
	if err != nil || resp.GetQrId() != strong.GetQrId() {
		t.Fatalf("GetSignedQR by the weak id: %v, %v", resp, err)
	}
	// A ministry reading the history by the old id gets the person's whole history.
	hist, err := h.client(tokMinistry).audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: weak.GetQrId(), Reason: "alias check"})
	if err != nil || hist.GetQrId() != strong.GetQrId() || len(hist.GetDeclarations()) != 2 {
		t.Fatalf("GetHistory by the weak id: qr_id %s, %d declarations, %v", hist.GetQrId(), len(hist.GetDeclarations()), err)
	}
}

// TestLookupChipCardFindsTheFormerCMND: a person who declared with their old CMND and now
// shows the chip card that replaced it (the card's QR carries the old number) is found.
func TestLookupChipCardFindsTheFormerCMND(t *testing.T) {
	h := newHarness(t)
	old := chi // CMND 023456789
	r := accepted(t, h.client(tokTokhaiyte), decl("tokhaiyte", "TK-chi", old, h.clock.Now().Add(-time.Hour)))
	// Her chip card: CCCD 079185001234 (province 079, female 1900s, 85), former CMND 023456789.
	card := "079185001234|023456789|Phạm Thị Chi|01011985|Nữ|12 Lê Lợi|01072021"
	resp := lookup(t, h, card)
	if resp.GetStatus() != lienthongv1.Status_STATUS_CLEAR || resp.GetQrId() != r.GetQrId() {
		t.Fatalf("chip card of a CMND declarer: status %v qr_id %s, want CLEAR %s", resp.GetStatus(), resp.GetQrId(), r.GetQrId())
	}
	// Her passage is recorded under the identity the gateway knows.
	p := passage("p-chi", station79, "", h.clock.Now())
	p.Person = &lienthongv1.RecordPassageRequest_Qr{Qr: card}
	pr, err := h.client(tokCheckpoint).checkpoint.RecordPassage(ctx(t), p)
	if err != nil || pr.GetQrId() != r.GetQrId() {
		t.Fatalf("passage by chip card: %v, %v; want qr_id %s", pr, err, r.GetQrId())
	}
	// A chip card whose CCCD and former CMND are both unknown: NONE, named by the CCCD.
	unknown := "079185009999|023450000|Phạm Thị Chi|01011985|Nữ|12 Lê Lợi|01072021"
	resp = lookup(t, h, unknown)
	if resp.GetStatus() != lienthongv1.Status_STATUS_NONE || resp.GetQrId() != h.qridOf(person{docType: lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, doc: "079185009999"}) {
		t.Fatalf("unknown chip card: %v %s", resp.GetStatus(), resp.GetQrId())
	}
}
