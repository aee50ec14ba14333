package gateway_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func passage(id, station string, qrid string, at time.Time) *lienthongv1.RecordPassageRequest {
	return &lienthongv1.RecordPassageRequest{
		PassageId: id, StationId: station, Person: &lienthongv1.RecordPassageRequest_QrId{QrId: qrid},
		Decision: lienthongv1.Decision_DECISION_ALLOWED, PassedAt: timestamppb.New(at),
	}
}

func TestRecordPassage(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	anQR := accepted(t, h.client(tokTokhaiyte), decl("tokhaiyte", "TK-an", an, now.Add(-time.Hour))).GetQrId()
	cp := h.client(tokCheckpoint)

	first, err := cp.checkpoint.RecordPassage(ctx(t), passage("p-1", station79, anQR, now))
	if err != nil || first.GetDuplicate() || first.GetQrId() != anQR {
		t.Fatalf("first passage: %v, %v", first, err)
	}
	// The station's system retries after a lost answer: recorded once.
	again, err := cp.checkpoint.RecordPassage(ctx(t), passage("p-1", station79, anQR, now))
	if err != nil || !again.GetDuplicate() {
		t.Fatalf("same passage again: %v, %v; want duplicate", again, err)
	}
	// A scanned QR instead of the QR id.
	byQR := passage("p-2", station79, "", now)
	byQR.Person = &lienthongv1.RecordPassageRequest_Qr{Qr: chipCardQR(an)}
	byQR.Decision = lienthongv1.Decision_DECISION_SCREENED
	if r, err := cp.checkpoint.RecordPassage(ctx(t), byQR); err != nil || r.GetQrId() != anQR {
		t.Fatalf("passage by chip card QR: %v, %v", r, err)
	}

	stats, err := h.client(tokMinistry).audit.GetStatistics(ctx(t), &lienthongv1.GetStatisticsRequest{StationId: station79})
	if err != nil {
		t.Fatal(err)
	}
	got := map[lienthongv1.Decision]int64{}
	for _, c := range stats.GetPassageCounts() {
		got[c.GetDecision()] += c.GetCount()
	}
	if got[lienthongv1.Decision_DECISION_ALLOWED] != 1 || got[lienthongv1.Decision_DECISION_SCREENED] != 1 {
		t.Fatalf("passage counts %v, want 1 allowed (the duplicate counted once) and 1 screened", got)
	}

	tests := []struct {
		name          string
		req           *lienthongv1.RecordPassageRequest
		code          codes.Code
		field, reason string
	}{
		{"another station", passage("p-3", station01, anQR, now), codes.PermissionDenied, "", ""},
		{"no passage id", passage("", station79, anQR, now), codes.InvalidArgument, "passage_id", "required"},
		{"no station", passage("p-4", "", anQR, now), codes.InvalidArgument, "station_id", "required"},
		{"no person", &lienthongv1.RecordPassageRequest{PassageId: "p-5", StationId: station79, Decision: lienthongv1.Decision_DECISION_ALLOWED, PassedAt: timestamppb.New(now)}, codes.InvalidArgument, "person", "required"},
		{"no decision", func() *lienthongv1.RecordPassageRequest {
			r := passage("p-6", station79, anQR, now)
			r.Decision = lienthongv1.Decision_DECISION_UNSPECIFIED
			return r
		}(), codes.InvalidArgument, "decision", "required"},
		// The contract makes passed_at required: late passages must keep their own time.
		{"no passage time", func() *lienthongv1.RecordPassageRequest {
			r := passage("p-10", station79, anQR, now)
			r.PassedAt = nil
			return r
		}(), codes.InvalidArgument, "passed_at", "required"},
		// A timestamp no calendar holds (the store's day counters would be garbage).
		{"passage time out of range", func() *lienthongv1.RecordPassageRequest {
			r := passage("p-11", station79, anQR, now)
			r.PassedAt = &timestamppb.Timestamp{Seconds: -1 << 40}
			return r
		}(), codes.InvalidArgument, "passed_at", "malformed"},
		{"malformed qr_id", passage("p-7", station79, "12345", now), codes.InvalidArgument, "qr_id", "malformed"},
		// The gateway's clock allows 5 minutes of drift, no more.
		{"passed in the future", passage("p-8", station79, anQR, now.Add(10*time.Minute)), codes.InvalidArgument, "passed_at", "declared_in_future"},
		// A 1405 QR with a masked number and a foreign QID names nobody the gateway can key.
		{"QR naming nobody the gateway can key", func() *lienthongv1.RecordPassageRequest {
			r := passage("p-9", station79, "", now)
			r.Person = &lienthongv1.RecordPassageRequest_Qr{Qr: personal1405QR(dung, "VNQID1", true)}
			return r
		}(), codes.NotFound, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cp.checkpoint.RecordPassage(ctx(t), tc.req)
			if tc.field != "" {
				wantViolation(t, err, tc.field, tc.reason)
			} else {
				wantCode(t, err, tc.code)
			}
		})
	}
}
