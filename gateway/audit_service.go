package gateway

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/rpcstatus"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// auditService answers the ministries (and checkpoints, for their own area's statistics).
type auditService struct {
	lienthongv1.UnimplementedAuditServiceServer
	d Deps
}

func (s *auditService) GetStatistics(ctx context.Context, req *lienthongv1.GetStatisticsRequest) (*lienthongv1.GetStatisticsResponse, error) {
	const op = "audit.GetStatistics"
	p, _ := auth.FromContext(ctx)
	var vs canonical.Violations
	for _, day := range []struct{ field, v string }{{"from_day", req.GetFromDay()}, {"to_day", req.GetToDay()}} {
		if day.v != "" {
			if _, err := time.Parse(time.DateOnly, day.v); err != nil {
				vs = append(vs, canonical.Violation{Field: day.field, Reason: canonical.ReasonMalformed, Message: "a day is written yyyy-mm-dd"})
			}
		}
	}
	if req.GetProvince() != "" && req.GetProvinceCodeSet() == lienthongv1.CodeSet_CODE_SET_UNSPECIFIED {
		// The contract requires it: "79" means one province in 2021 and three merged ones in 2025.
		vs = append(vs, canonical.Violation{Field: "province_code_set", Reason: canonical.ReasonRequired, Message: "say whether province is a 2021 or a 2025 code"})
	}
	if len(vs) > 0 {
		return nil, rpcstatus.FromError(vs)
	}
	q := store.CountQuery{
		From: req.GetFromDay(), To: req.GetToDay(),
		Platform: canonical.Platform(req.GetPlatform()), Reason: canonical.Reason(req.GetReason()),
		Province: req.GetProvince(), Province2025: req.GetProvinceCodeSet() == lienthongv1.CodeSet_CODE_SET_2025,
		Station: req.GetStationId(),
	}
	if p.Role == auth.RoleCheckpoint {
		// A checkpoint sees its own province's declarations and its own station's passages.
		if q.Province != "" && (q.Province != p.Area.Province || q.Province2025) {
			return nil, rpcstatus.FromError(errs.Errorf(errs.Permission, op, "checkpoint %s may only read statistics of province %s", p.ID, p.Area.Province))
		}
		if q.Station != "" && q.Station != p.Station {
			return nil, rpcstatus.FromError(errs.Errorf(errs.Permission, op, "checkpoint %s may only read statistics of station %s", p.ID, p.Station))
		}
		q.Province, q.Province2025, q.Station = p.Area.Province, false, p.Station
	}
	resp := &lienthongv1.GetStatisticsResponse{}
	if q.Station == "" || p.Role == auth.RoleCheckpoint {
		dq := q
		dq.Counter, dq.Station = store.CounterDeclarations, ""
		counts, err := s.d.Store.Counts(ctx, dq)
		if err != nil {
			return nil, rpcstatus.FromError(err)
		}
		for _, c := range counts {
			resp.DeclarationCounts = append(resp.DeclarationCounts, &lienthongv1.DeclarationCount{
				Day: c.Day, Platform: string(c.Platform), Outcome: storeOutcomeToPB(c.Outcome), Reason: string(c.Reason),
				Province: c.Province, SuccessorProvince: successorOf(c.Province), Count: c.N,
			})
		}
	}
	// Passages have no platform, reason or province: a filter on any of them leaves them out
	// (a checkpoint's province is its area, not a filter: it sees its station's passages).
	if q.Platform == "" && q.Reason == "" && (req.GetProvince() == "" || p.Role == auth.RoleCheckpoint) {
		pq := store.CountQuery{Counter: store.CounterPassages, From: q.From, To: q.To, Station: q.Station}
		counts, err := s.d.Store.Counts(ctx, pq)
		if err != nil {
			return nil, rpcstatus.FromError(err)
		}
		for _, c := range counts {
			resp.PassageCounts = append(resp.PassageCounts, &lienthongv1.PassageCount{
				Day: c.Day, StationId: c.Station, Decision: lienthongv1.Decision(c.Decision), Count: c.N,
			})
		}
	}
	return resp, nil
}

func successorOf(code string) string {
	if p, ok := canonical.ProvinceByCode(canonical.CodeSet2021, code); ok {
		return p.Successor
	}
	return ""
}

func (s *auditService) ListInconsistencies(ctx context.Context, req *lienthongv1.ListInconsistenciesRequest) (*lienthongv1.ListInconsistenciesResponse, error) {
	if (req.GetPlatformA() == "") != (req.GetPlatformB() == "") {
		// One platform alone would silently match every pair.
		field := "platform_b"
		if req.GetPlatformA() == "" {
			field = "platform_a"
		}
		return nil, rpcstatus.FromError(canonical.Violations{{Field: field, Reason: canonical.ReasonRequired, Message: "set both platforms of the pair, or neither"}})
	}
	views, next, err := s.d.Store.Inconsistencies(ctx, store.InconsistencyQuery{
		Field: fieldFromPB(req.GetField()), PlatformA: canonical.Platform(req.GetPlatformA()), PlatformB: canonical.Platform(req.GetPlatformB()),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	resp := &lienthongv1.ListInconsistenciesResponse{NextPageToken: next}
	for _, v := range views {
		resp.Identities = append(resp.Identities, inconsistentIdentityToPB(v))
	}
	return resp, nil
}

func (s *auditService) GetHistory(ctx context.Context, req *lienthongv1.GetHistoryRequest) (*lienthongv1.GetHistoryResponse, error) {
	p, _ := auth.FromContext(ctx)
	var vs canonical.Violations
	if !identity.LooksLikeQRID(req.GetQrId()) {
		vs = append(vs, canonical.Violation{Field: "qr_id", Reason: canonical.ReasonMalformed, Message: "not a QR id"})
	}
	reason := strings.TrimSpace(req.GetReason())
	if len(reason) < 5 {
		vs = append(vs, canonical.Violation{Field: "reason", Reason: canonical.ReasonRequired, Message: "say why this person's history is read (at least 5 characters); it is logged"})
	}
	if !utf8.ValidString(reason) {
		vs = append(vs, canonical.Violation{Field: "reason", Reason: canonical.ReasonInvalidUTF8, Message: "the text is not valid UTF-8"})
	}
	if len(reason) > 500 {
		vs = append(vs, canonical.Violation{Field: "reason", Reason: canonical.ReasonTooLong, Message: "at most 500 characters"})
	}
	if len(vs) > 0 {
		return nil, rpcstatus.FromError(vs)
	}
	v, err := s.d.Store.View(ctx, req.GetQrId())
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	// The read is logged before anything is returned: no log, no data.
	if err := s.d.Store.AppendAccess(ctx, store.Access{
		At: s.d.Now().UTC(), Principal: p.ID, Role: string(p.Role), Action: "history", QRID: v.QRID, Reason: reason,
	}); err != nil {
		return nil, rpcstatus.FromError(err)
	}
	history, err := s.d.Store.History(ctx, v.QRID)
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	resp := &lienthongv1.GetHistoryResponse{QrId: v.QRID}
	for _, d := range history {
		resp.Declarations = append(resp.Declarations, DeclarationToPB(d))
	}
	return resp, nil
}

func (s *auditService) ListAccessLog(ctx context.Context, req *lienthongv1.ListAccessLogRequest) (*lienthongv1.ListAccessLogResponse, error) {
	entries, next, err := s.d.Store.AccessLog(ctx, store.AccessQuery{
		QRID: req.GetQrId(), Principal: req.GetPrincipal(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	resp := &lienthongv1.ListAccessLogResponse{NextPageToken: next}
	for _, a := range entries {
		resp.Accesses = append(resp.Accesses, &lienthongv1.Access{
			At: timeToPB(a.At), Principal: a.Principal, Role: roleToPB(a.Role), Action: a.Action, QrId: a.QRID, Reason: a.Reason,
		})
	}
	return resp, nil
}

func (s *auditService) ListRejections(ctx context.Context, req *lienthongv1.ListRejectionsRequest) (*lienthongv1.ListRejectionsResponse, error) {
	rs, next, err := s.d.Store.Rejections(ctx, store.RejectionQuery{
		Platform: canonical.Platform(req.GetPlatform()), Reason: canonical.Reason(req.GetReason()),
		PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, rpcstatus.FromError(err)
	}
	resp := &lienthongv1.ListRejectionsResponse{NextPageToken: next}
	for _, r := range rs {
		rej := &lienthongv1.Rejection{Declaration: DeclarationToPB(r.Declaration), Violations: violationsToPB(r.Violations)}
		validUTF8(rej.ProtoReflect())
		resp.Rejections = append(resp.Rejections, rej)
	}
	return resp, nil
}
