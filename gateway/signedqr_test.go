package gateway_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lienthong/lienthong/canonical/qr"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func byRecordID(id string) *lienthongv1.GetSignedQRRequest {
	return &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_RecordId{RecordId: id}}
}

func bySubjectID(id string) *lienthongv1.GetSignedQRRequest {
	return &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_SubjectId{SubjectId: id}}
}

func withSubject(id string) func(*lienthongv1.Declaration) {
	return func(d *lienthongv1.Declaration) { d.Source.SubjectId = id }
}

// TestGetSignedQRByPlatformIDs: a partner whose user lost their phone knows its own
// declaration id or account id, not our QR id; either gets the person's signed QR.
func TestGetSignedQRByPlatformIDs(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	nc, bz, tk := h.client(tokNCOVI), h.client(tokBluezone), h.client(tokTokhaiyte)
	keys := publishedKeys(t, h)

	// An NCOVI family account declares for An, then (later) for Binh.
	forAn := accepted(t, nc, decl("ncovi", "NC-an", an, now.Add(-3*time.Hour), withSubject("acct-family")))
	forBinh := accepted(t, nc, decl("ncovi", "NC-binh", binh, now.Add(-2*time.Hour), withSubject("acct-family")))
	// A Bluezone user first declares without a document (a weak identity), then with a CCCD:
	// the strong identity absorbs the weak one.
	weak := accepted(t, bz, decl("bluezone", "BZ-1", cuong, now.Add(-3*time.Hour), withSubject("bz-cuong")))
	withCCCD := cuong
	withCCCD.docType, withCCCD.doc = lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, "079080012345"
	strong := accepted(t, tk, decl("tokhaiyte", "TK-cuong", withCCCD, now.Add(-time.Hour)))
	if weak.GetQrId() == strong.GetQrId() {
		t.Fatalf("the weak and strong identities are one: %s", weak.GetQrId())
	}
	// A late arrival for An, declared before the declaration for Binh.
	accepted(t, nc, decl("ncovi", "NC-an-2", an, now.Add(-150*time.Minute), withSubject("acct-family")))

	for _, tc := range []struct {
		name string
		c    client
		req  *lienthongv1.GetSignedQRRequest
		want string
	}{
		{"record id", nc, byRecordID("NC-an"), forAn.GetQrId()},
		{"another record of the same account", nc, byRecordID("NC-binh"), forBinh.GetQrId()},
		// A family account answers the person of its most recent declaration by declared
		// time, not by arrival.
		{"subject id answers its newest declaration", nc, bySubjectID("acct-family"), forBinh.GetQrId()},
		// The weak identity was absorbed: its record and account answer the strong QR id.
		{"record of an absorbed identity", bz, byRecordID("BZ-1"), strong.GetQrId()},
		{"subject of an absorbed identity", bz, bySubjectID("bz-cuong"), strong.GetQrId()},
		{"qr id", nc, &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: forAn.GetQrId()}}, forAn.GetQrId()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.c.ingest.GetSignedQR(ctx(t), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := qr.Verify(resp.GetSignedQr(), keys, now)
			if err != nil || resp.GetQrId() != tc.want || tok.QRID != tc.want {
				t.Fatalf("qr_id %s, signed for %s (%v); want %s", resp.GetQrId(), tok.QRID, err, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name  string
		c     client
		req   *lienthongv1.GetSignedQRRequest
		code  codes.Code
		field string // the violation's field, for INVALID_ARGUMENT
	}{
		// A partner asks about its own platform's ids only: NCOVI's record id asked by
		// Tokhaiyte is unknown, exactly like an id nobody sent.
		{"another platform's record id", tk, byRecordID("NC-an"), codes.NotFound, ""},
		{"another platform's subject id", bz, bySubjectID("acct-family"), codes.NotFound, ""},
		{"unknown record id", nc, byRecordID("NC-nobody"), codes.NotFound, ""},
		{"unknown subject id", nc, bySubjectID("acct-nobody"), codes.NotFound, ""},
		// A record id is not an account id.
		{"record id sent as subject id", nc, bySubjectID("NC-an"), codes.NotFound, ""},
		{"empty record id", nc, byRecordID(""), codes.InvalidArgument, "record_id"},
		{"empty subject id", nc, bySubjectID(""), codes.InvalidArgument, "subject_id"},
		{"record id too long", nc, byRecordID(strings.Repeat("x", 1001)), codes.InvalidArgument, "record_id"},
		{"nothing named", nc, &lienthongv1.GetSignedQRRequest{}, codes.InvalidArgument, "person"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.ingest.GetSignedQR(ctx(t), tc.req)
			wantCode(t, err, tc.code)
			if tc.field != "" {
				if got := fieldViolations(err); len(got) != 1 || !strings.HasPrefix(got[0], tc.field) {
					t.Errorf("violations %v, want one on %s", got, tc.field)
				}
			}
		})
	}
}

// TestGetSignedQRByRejectedRecord: a rejected declaration names nobody, so its record id is
// unknown (the partner learns why from the submission's result, not here).
func TestGetSignedQRByRejectedRecord(t *testing.T) {
	h := newHarness(t)
	nc := h.client(tokNCOVI)
	bad := decl("ncovi", "NC-bad", an, h.clock.Now().Add(-time.Hour), withSubject("acct-bad"))
	bad.Person.FullName = ""
	if r := submit(t, nc, bad).GetResults()[0]; r.GetOutcome() != lienthongv1.Outcome_OUTCOME_REJECTED {
		t.Fatalf("outcome %v, want rejected", r.GetOutcome())
	}
	_, err := nc.ingest.GetSignedQR(ctx(t), byRecordID("NC-bad"))
	wantCode(t, err, codes.NotFound)
	_, err = nc.ingest.GetSignedQR(ctx(t), bySubjectID("acct-bad"))
	wantCode(t, err, codes.NotFound)
}
