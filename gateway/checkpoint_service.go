package gateway

import (
	"context"
	"errors"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/canonical/qr"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/rpcstatus"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// checkpointService answers stations: who is this, may they pass; and records passages.
type checkpointService struct {
	lienthongv1.UnimplementedCheckpointServiceServer
	d        Deps
	m        *metrics
	verified *qr.VerifyCache // signed QRs already verified: people show theirs at station after station
}

// verifiedQRs is how many signed QRs a gateway remembers as verified (about 250 bytes each).
const verifiedQRs = 1 << 16

func (s *checkpointService) Lookup(ctx context.Context, req *lienthongv1.LookupRequest) (*lienthongv1.LookupResponse, error) {
	start := time.Now()
	resp, err := s.lookup(ctx, req.GetQr())
	st := "error"
	if err == nil {
		st = statusLabel(resp.GetStatus())
	}
	s.m.lookup(ctx, start, st)
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	return resp, nil
}

// statusLabel is a status's name, as String gives it, without String's walk through the enum's
// descriptor on every lookup.
func statusLabel(st lienthongv1.Status) string {
	if name, ok := lienthongv1.Status_name[int32(st)]; ok {
		return name
	}
	return st.String()
}

func (s *checkpointService) lookup(ctx context.Context, raw string) (*lienthongv1.LookupResponse, error) {
	now := s.d.Now()
	qrids, form, err := s.resolve(raw, now)
	if err != nil {
		return nil, err
	}
	a := new(lookupAnswer)
	resp := &a.resp
	resp.Status, resp.QrForm = lienthongv1.Status_STATUS_NONE, form
	if len(qrids) == 0 {
		return resp, nil // a QR that names nobody this gateway can key: no declaration known
	}
	resp.QrId = qrids[0]
	v, err := s.find(ctx, qrids)
	if errs.Is(err, errs.NotFound) {
		s.recordAccess(ctx, now, qrids[0]) // a lookup of someone unknown is a lookup too
		return resp, nil
	}
	if err != nil {
		return nil, err
	}
	s.recordAccess(ctx, now, v.QRID)
	resp.QrId = v.QRID
	resp.Status = statusToPB(store.StatusOf(v, now, s.d.Validity))
	resp.Person = personInto(&a.person, v.Person)
	if newest, ok := v.Newest(); ok {
		resp.Newest = summaryInto(&a.newest, &a.declaredAt, newest)
		resp.ValidUntil = setTimestamp(&a.validUntil, newest.DeclaredAt.Add(s.d.Validity))
	}
	platforms := v.Platforms()
	resp.Platforms = make([]string, len(platforms))
	for i, p := range platforms {
		resp.Platforms[i] = string(p)
	}
	a.flags.UnverifiedIdentity, a.flags.Inconsistent = !v.Verified, len(v.Inconsistencies) > 0
	resp.Flags = &a.flags
	for _, inc := range v.Inconsistencies {
		if f := fieldToPB(inc.Field); !slices.Contains(resp.Flags.InconsistentFields, f) {
			resp.Flags.InconsistentFields = append(resp.Flags.InconsistentFields, f)
		}
	}
	return resp, nil
}

// lookupAnswer is a lookup's answer with the messages it points to, allocated together: the
// hottest path of the gateway makes one allocation for them instead of six.
type lookupAnswer struct {
	resp                   lienthongv1.LookupResponse
	person                 lienthongv1.PersonSummary
	newest                 lienthongv1.DeclarationSummary
	declaredAt, validUntil timestamppb.Timestamp
	flags                  lienthongv1.LookupFlags
}

// find returns the view of the first of qrids the store knows (an errs.NotFound error when it
// knows none).
func (s *checkpointService) find(ctx context.Context, qrids []string) (store.View, error) {
	for i, id := range qrids {
		v, err := s.d.Store.View(ctx, id)
		if err == nil || !errs.Is(err, errs.NotFound) || i == len(qrids)-1 {
			return v, err
		}
	}
	return store.View{}, errs.Errorf(errs.NotFound, "checkpoint.find", "no QR id to look up")
}

// resolve turns any QR a citizen may show into the QR ids it may name, strongest first: one
// for a signed QR or a QR id; for a chip card, its CCCD's and then its former CMND's (a person
// who declared with the old card shows the new one, which carries the old number). None when
// the QR names nobody this gateway can key, such as a decision-1405 QR with a masked number
// from another system.
func (s *checkpointService) resolve(raw string, now time.Time) ([]string, lienthongv1.QRForm, error) {
	scan, err := s.verified.Parse(raw, s.d.Keys, now)
	if err != nil {
		// The parser's messages say what is wrong without echoing personal data.
		return nil, lienthongv1.QRForm_QR_FORM_UNSPECIFIED, canonical.Violations{{Field: "qr", Reason: canonical.ReasonMalformed, Message: qrMessage(err)}}
	}
	form := lienthongv1.QRForm_QR_FORM_UNSPECIFIED
	var qrids []string
	switch scan.Form {
	case qr.FormSigned:
		return []string{scan.Token.QRID}, lienthongv1.QRForm_QR_FORM_SIGNED, nil
	case qr.FormQRID:
		return []string{scan.QRID}, lienthongv1.QRForm_QR_FORM_QR_ID, nil
	case qr.FormChipCard:
		form = lienthongv1.QRForm_QR_FORM_CHIP_CARD
	case qr.FormPersonal1405:
		form = lienthongv1.QRForm_QR_FORM_PERSONAL_1405
		if scan.QRID != "" {
			qrids = append(qrids, scan.QRID) // the QID first; an unmasked number after it
		}
	}
	if scan.DocumentMasked {
		return qrids, form, nil
	}
	person := canonical.Person{Document: scan.Document, FormerCMND: scan.FormerCMND, Nationality: "VN"}
	key, ok := identity.KeyOf(person)
	if !ok || !key.Verified() {
		return qrids, form, nil
	}
	qrids = append(qrids, s.d.Deriver.QRID(key))
	for _, k := range identity.AliasKeys(person) {
		if k.Verified() {
			qrids = append(qrids, s.d.Deriver.QRID(k))
		}
	}
	return qrids, form, nil
}

func (s *checkpointService) recordAccess(ctx context.Context, at time.Time, qrid string) {
	if s.d.Access == nil {
		return
	}
	p, _ := auth.FromContext(ctx)
	s.d.Access.Record(store.Access{At: at.UTC(), Principal: p.ID, Role: string(p.Role), Action: "lookup", QRID: qrid})
}

func (s *checkpointService) RecordPassage(ctx context.Context, req *lienthongv1.RecordPassageRequest) (*lienthongv1.RecordPassageResponse, error) {
	const op = "checkpoint.RecordPassage"
	p, _ := auth.FromContext(ctx)
	var vs canonical.Violations
	if req.GetPassageId() == "" || len(req.GetPassageId()) > 128 {
		vs = append(vs, canonical.Violation{Field: "passage_id", Reason: canonical.ReasonRequired, Message: "an idempotency key of 1 to 128 characters is required"})
	}
	if req.GetStationId() == "" {
		vs = append(vs, canonical.Violation{Field: "station_id", Reason: canonical.ReasonRequired, Message: "the station is required"})
	}
	if req.GetDecision() == lienthongv1.Decision_DECISION_UNSPECIFIED || req.GetDecision() > lienthongv1.Decision_DECISION_REFUSED {
		vs = append(vs, canonical.Violation{Field: "decision", Reason: canonical.ReasonRequired, Message: "decision must be ALLOWED, SCREENED, REDIRECTED or REFUSED"})
	}
	if req.GetPassedAt() == nil {
		// The contract requires it: a station that was offline sends its passages late, and
		// the gateway's clock would record them at the wrong time.
		vs = append(vs, canonical.Violation{Field: "passed_at", Reason: canonical.ReasonRequired, Message: "the passage time is required"})
	} else if req.GetPassedAt().CheckValid() != nil {
		vs = append(vs, canonical.Violation{Field: "passed_at", Reason: canonical.ReasonMalformed, Message: "the passage time is outside years 1 to 9999 or has invalid nanoseconds"})
	}
	if req.GetQrId() == "" && req.GetQr() == "" {
		vs = append(vs, canonical.Violation{Field: "person", Reason: canonical.ReasonRequired, Message: "qr_id or qr is required"})
	}
	if len(vs) > 0 {
		return nil, rpcstatus.FromError(vs)
	}
	if req.GetStationId() != p.Station {
		return nil, rpcstatus.FromError(errs.Errorf(errs.Permission, op, "checkpoint %s may only record passages at its own station", p.ID))
	}
	now := s.d.Now()
	qrid := req.GetQrId()
	if qrid != "" && !identity.LooksLikeQRID(qrid) {
		return nil, rpcstatus.FromError(canonical.Violations{{Field: "qr_id", Reason: canonical.ReasonMalformed, Message: "not a QR id"}})
	}
	if qrid == "" {
		qrids, _, err := s.resolve(req.GetQr(), now)
		if err != nil {
			return nil, rpcstatus.FromError(err)
		}
		if len(qrids) == 0 {
			return nil, rpcstatus.FromError(errs.Errorf(errs.NotFound, op, "the QR names nobody this gateway can identify"))
		}
		// The identity the gateway knows (a chip card may name it by its former CMND); the
		// strongest key when it knows none.
		qrid = qrids[0]
		if v, err := s.find(ctx, qrids); err == nil {
			qrid = v.QRID
		} else if !errs.Is(err, errs.NotFound) {
			return nil, rpcstatus.FromError(err)
		}
	}
	at := req.GetPassedAt().AsTime()
	if at.After(now.Add(5 * time.Minute)) {
		return nil, rpcstatus.FromError(canonical.Violations{{Field: "passed_at", Reason: canonical.ReasonDeclaredInFuture, Message: "passage time is in the future"}})
	}
	dup, err := s.d.Store.RecordPassage(ctx, store.Passage{
		ID: req.GetPassageId(), StationID: req.GetStationId(), QRID: qrid, Decision: decisionFromPB(req.GetDecision()), At: at,
	})
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	return &lienthongv1.RecordPassageResponse{Duplicate: dup, QrId: qrid}, nil
}

// qrMessage is the operator-facing text of a QR parse error, without the operation prefix.
func qrMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err.Error()
	}
	return err.Error()
}
