package gateway_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// auditWorld declares people in provinces 79 and 01, a rejection, and passages at both
// stations.
func newAuditWorld(t *testing.T) (*harness, string) {
	h := newHarness(t)
	now := h.clock.Now()
	tk, nc := h.client(tokTokhaiyte), h.client(tokNCOVI)
	anQR := accepted(t, tk, decl("tokhaiyte", "TK-an", an, now.Add(-5*time.Hour))).GetQrId()
	accepted(t, nc, decl("ncovi", "NC-an", an, now.Add(-2*time.Hour)))
	accepted(t, nc, decl("ncovi", "NC-binh", binh, now.Add(-time.Hour))) // province 01
	bad := decl("tokhaiyte", "TK-bad", cuong, now.Add(-time.Hour))
	bad.Person.Phone = "12"
	if r := submit(t, tk, bad); r.GetRejectedCount() != 1 {
		t.Fatalf("bad record not rejected: %v", r)
	}
	noDate := decl("ncovi", "NC-nodate", cuong, now)
	noDate.DeclaredAt = nil
	if r := submit(t, nc, noDate); r.GetRejectedCount() != 1 {
		t.Fatalf("record without a date not rejected: %v", r)
	}
	if _, err := h.client(tokCheckpoint).checkpoint.RecordPassage(ctx(t), passage("p-79", station79, anQR, now)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client(tokCheckpoint2).checkpoint.RecordPassage(ctx(t), passage("p-01", station01, anQR, now)); err != nil {
		t.Fatal(err)
	}
	return h, anQR
}

func TestGetStatisticsScope(t *testing.T) {
	h, _ := newAuditWorld(t)
	provinces := func(r *lienthongv1.GetStatisticsResponse) []string {
		var out []string
		for _, c := range r.GetDeclarationCounts() {
			if c.GetOutcome() == lienthongv1.Outcome_OUTCOME_ACCEPTED && !slices.Contains(out, c.GetProvince()) {
				out = append(out, c.GetProvince())
			}
		}
		slices.Sort(out)
		return out
	}
	stations := func(r *lienthongv1.GetStatisticsResponse) []string {
		var out []string
		for _, c := range r.GetPassageCounts() {
			if !slices.Contains(out, c.GetStationId()) {
				out = append(out, c.GetStationId())
			}
		}
		slices.Sort(out)
		return out
	}
	all, err := h.client(tokMinistry).audit.GetStatistics(ctx(t), &lienthongv1.GetStatisticsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := provinces(all); !slices.Equal(got, []string{"01", "79"}) {
		t.Errorf("ministry sees provinces %v, want [01 79]", got)
	}
	if got := stations(all); !slices.Equal(got, []string{station01, station79}) {
		t.Errorf("ministry sees stations %v", got)
	}
	var accepted int64
	for _, c := range all.GetDeclarationCounts() {
		if c.GetOutcome() == lienthongv1.Outcome_OUTCOME_ACCEPTED {
			accepted += c.GetCount()
		}
	}
	if accepted != 3 {
		t.Errorf("ministry counts %d accepted declarations, want 3", accepted)
	}

	own, err := h.client(tokCheckpoint).audit.GetStatistics(ctx(t), &lienthongv1.GetStatisticsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := provinces(own); !slices.Equal(got, []string{"79"}) {
		t.Errorf("checkpoint of province 79 sees provinces %v, want [79]", got)
	}
	if got := stations(own); !slices.Equal(got, []string{station79}) {
		t.Errorf("checkpoint of station %s sees stations %v", station79, got)
	}

	// Filters that passages do not have leave them out; a station leaves declarations out.
	for name, req := range map[string]*lienthongv1.GetStatisticsRequest{
		"province": {Province: "79", ProvinceCodeSet: lienthongv1.CodeSet_CODE_SET_2021},
		"platform": {Platform: "ncovi"},
		"reason":   {Reason: "invalid_phone"},
	} {
		r, err := h.client(tokMinistry).audit.GetStatistics(ctx(t), req)
		if err != nil || len(r.GetPassageCounts()) != 0 || len(r.GetDeclarationCounts()) == 0 {
			t.Errorf("filtered by %s: %d passage cells, %d declaration cells, %v; want declarations only", name, len(r.GetPassageCounts()), len(r.GetDeclarationCounts()), err)
		}
	}
	if r, err := h.client(tokMinistry).audit.GetStatistics(ctx(t), &lienthongv1.GetStatisticsRequest{StationId: station79}); err != nil || len(r.GetDeclarationCounts()) != 0 || len(r.GetPassageCounts()) == 0 {
		t.Errorf("filtered by station: %v, %v; want passages only", r, err)
	}

	tests := []struct {
		name  string
		token string
		req   *lienthongv1.GetStatisticsRequest
		code  codes.Code
	}{
		{"checkpoint, own province", tokCheckpoint, &lienthongv1.GetStatisticsRequest{Province: "79", ProvinceCodeSet: lienthongv1.CodeSet_CODE_SET_2021}, codes.OK},
		{"checkpoint, another province", tokCheckpoint, &lienthongv1.GetStatisticsRequest{Province: "01", ProvinceCodeSet: lienthongv1.CodeSet_CODE_SET_2021}, codes.PermissionDenied},
		// 2025 code 79 covers three 2021 provinces: more than the checkpoint's area.
		{"checkpoint, own code in the 2025 set", tokCheckpoint, &lienthongv1.GetStatisticsRequest{Province: "79", ProvinceCodeSet: lienthongv1.CodeSet_CODE_SET_2025}, codes.PermissionDenied},
		{"checkpoint, another station", tokCheckpoint, &lienthongv1.GetStatisticsRequest{StationId: station01}, codes.PermissionDenied},
		{"ministry, any province", tokMinistry, &lienthongv1.GetStatisticsRequest{Province: "01", ProvinceCodeSet: lienthongv1.CodeSet_CODE_SET_2021}, codes.OK},
		{"malformed day", tokMinistry, &lienthongv1.GetStatisticsRequest{FromDay: "27/11/2026"}, codes.InvalidArgument},
		// "79" is one province in the 2021 set and three in the 2025 one: the set is required.
		{"province without its code set", tokMinistry, &lienthongv1.GetStatisticsRequest{Province: "79"}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client(tc.token).audit.GetStatistics(ctx(t), tc.req)
			wantCode(t, err, tc.code)
		})
	}
}

func TestListInconsistenciesPages(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	tk, nc := h.client(tokTokhaiyte), h.client(tokNCOVI)
	// Three people with a CMND whose platforms disagree on the birth year.
	for i, doc := range []string{"023456789", "023456790", "023456791"} {
		p := chi
		p.doc = doc
		accepted(t, tk, decl("tokhaiyte", "TK-"+doc, p, now.Add(-2*time.Hour)))
		accepted(t, nc, decl("ncovi", "NC-"+doc, p, now.Add(-time.Hour), withBirthYear(1986+int32(i))))
	}
	// Another person on both platforms, consistent.
	accepted(t, tk, decl("tokhaiyte", "TK-an", an, now.Add(-2*time.Hour)))
	accepted(t, nc, decl("ncovi", "NC-an", an, now.Add(-time.Hour)))

	min := h.client(tokMinistry)
	var seen []string
	token := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		resp, err := min.audit.ListInconsistencies(ctx(t), &lienthongv1.ListInconsistenciesRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetIdentities()) > 2 {
			t.Fatalf("page of %d, asked for 2", len(resp.GetIdentities()))
		}
		for _, id := range resp.GetIdentities() {
			seen = append(seen, id.GetQrId())
			if !id.GetVerified() || len(id.GetPlatforms()) != 2 || id.GetInconsistencies()[0].GetField() != lienthongv1.ComparedField_COMPARED_FIELD_BIRTH_DATE {
				t.Errorf("identity %v", id)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	want := []string{h.qridOf(chi), h.qridOf(person{docType: chi.docType, doc: "023456790"}), h.qridOf(person{docType: chi.docType, doc: "023456791"})}
	slices.Sort(want)
	got := slices.Clone(seen)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("pages listed %v, want each inconsistent person once: %v", seen, want)
	}
	// Half a platform pair is refused rather than silently ignored.
	_, err := min.audit.ListInconsistencies(ctx(t), &lienthongv1.ListInconsistenciesRequest{PlatformA: "ncovi"})
	wantViolation(t, err, "platform_b", "required")
	// The pair in either order finds the three.
	pair, err := min.audit.ListInconsistencies(ctx(t), &lienthongv1.ListInconsistenciesRequest{PlatformA: "tokhaiyte", PlatformB: "ncovi"})
	if err != nil || len(pair.GetIdentities()) != 3 {
		t.Fatalf("pair tokhaiyte/ncovi: %d identities, %v; want 3", len(pair.GetIdentities()), err)
	}
	// A filter on another field finds nobody.
	resp, err := min.audit.ListInconsistencies(ctx(t), &lienthongv1.ListInconsistenciesRequest{Field: lienthongv1.ComparedField_COMPARED_FIELD_PHONE})
	if err != nil || len(resp.GetIdentities()) != 0 {
		t.Fatalf("phone inconsistencies: %v, %v; want none", resp.GetIdentities(), err)
	}
}

func TestGetHistoryIsLoggedWithItsReason(t *testing.T) {
	h, anQR := newAuditWorld(t)
	// A correction of An's NCOVI record: a second version.
	now := h.clock.Now()
	fix := decl("ncovi", "NC-an", an, now.Add(-2*time.Hour), withSymptoms("cough"))
	fix.Source.Version = now.UTC().Format(time.RFC3339)
	accepted(t, h.client(tokNCOVI), fix)
	min := h.client(tokMinistry)

	tests := []struct {
		name, qrid, reason, field string
	}{
		{"no reason", anQR, "", "reason"},
		{"blank reason", anQR, "   ", "reason"},
		{"malformed qr_id", "nobody", "case HCM-2026-0042", "qr_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := min.audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: tc.qrid, Reason: tc.reason})
			wantCode(t, err, codes.InvalidArgument)
			if vs := fieldViolations(err); len(vs) == 0 || vs[0][:len(tc.field)] != tc.field {
				t.Fatalf("violations %v, want on %s", vs, tc.field)
			}
		})
	}
	// Refused reads are not logged.
	if log := accessLog(t, h, anQR); len(log) != 0 {
		t.Fatalf("refused history reads were logged: %v", log)
	}

	const reason = "case HCM-2026-0042: contact tracing"
	resp, err := min.audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: anQR, Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, d := range resp.GetDeclarations() {
		versions = append(versions, d.GetSource().GetPlatform()+"/"+d.GetSource().GetRecordId())
	}
	// Every version from every platform, oldest first by declared time, complete.
	if !slices.Equal(versions, []string{"tokhaiyte/TK-an", "ncovi/NC-an", "ncovi/NC-an"}) {
		t.Fatalf("history %v", versions)
	}
	if resp.GetDeclarations()[0].GetPerson().GetDocument().GetNumber() != an.doc {
		t.Error("the ministry's history is not complete: no document number")
	}
	log := accessLog(t, h, anQR)
	if len(log) != 1 || log[0].GetAction() != "history" || log[0].GetReason() != reason ||
		log[0].GetPrincipal() != "ministry-health" || log[0].GetRole() != lienthongv1.Role_ROLE_MINISTRY {
		t.Fatalf("access log %v, want one history read with the reason", log)
	}
	// An unknown person: NotFound, and nothing to log.
	_, err = min.audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: h.qridOf(dung), Reason: reason})
	wantCode(t, err, codes.NotFound)
}

func accessLog(t *testing.T, h *harness, qrid string) []*lienthongv1.Access {
	t.Helper()
	resp, err := h.client(tokMinistry).audit.ListAccessLog(ctx(t), &lienthongv1.ListAccessLogRequest{QrId: qrid})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetAccesses()
}

func TestListAccessLogShowsLookups(t *testing.T) {
	h, anQR := newAuditWorld(t)
	for range 3 {
		lookup(t, h, chipCardQR(an))
	}
	lookup(t, h, chipCardQR(dung)) // nobody: nothing read, nothing logged
	var log []*lienthongv1.Access
	// The recorder writes in the background: wait for the three entries, with a deadline.
	eventually(t, "three lookups in the access log", func() bool {
		log = accessLog(t, h, anQR)
		return len(log) >= 3
	})
	if len(log) != 3 {
		t.Fatalf("%d entries, want 3", len(log))
	}
	for _, a := range log {
		if a.GetAction() != "lookup" || a.GetPrincipal() != "checkpoint-79" || a.GetRole() != lienthongv1.Role_ROLE_CHECKPOINT || !a.GetAt().AsTime().Equal(t0) {
			t.Errorf("entry %v", a)
		}
	}
	// The principal filter.
	resp, err := h.client(tokMinistry).audit.ListAccessLog(ctx(t), &lienthongv1.ListAccessLogRequest{Principal: "checkpoint-01"})
	if err != nil || len(resp.GetAccesses()) != 0 {
		t.Fatalf("checkpoint-01 looked nobody up: %v, %v", resp.GetAccesses(), err)
	}
}

func TestListRejectionsByReason(t *testing.T) {
	h, _ := newAuditWorld(t)
	tests := []struct {
		name, platform, reason string
		want                   []string // record ids
	}{
		{"all", "", "", []string{"NC-nodate", "TK-bad"}},
		{"by reason", "", "invalid_phone", []string{"TK-bad"}},
		{"by other reason", "", "required", []string{"NC-nodate"}},
		{"by platform", "ncovi", "", []string{"NC-nodate"}},
		{"no match", "bluezone", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.client(tokMinistry).audit.ListRejections(ctx(t), &lienthongv1.ListRejectionsRequest{Platform: tc.platform, Reason: tc.reason})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range resp.GetRejections() {
				got = append(got, r.GetDeclaration().GetSource().GetRecordId())
				if len(r.GetViolations()) == 0 {
					t.Errorf("rejection %s without violations", got[len(got)-1])
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rejections %v, want %v", got, tc.want)
			}
		})
	}
}
