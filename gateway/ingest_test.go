package gateway_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lienthong/lienthong/canonical/qr"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// publishedKeys is what a checkpoint app would verify with: ListKeys, without a token.
func publishedKeys(t *testing.T, h *harness) qr.Keys {
	t.Helper()
	resp, err := h.client("").keys.ListKeys(ctx(t), &lienthongv1.ListKeysRequest{})
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	ks := qr.Keys{}
	for _, k := range resp.GetKeys() {
		ks[k.GetKeyId()] = ed25519.PublicKey(k.GetPublicKey())
	}
	return ks
}

func TestSubmitDeclarationsPerItemResults(t *testing.T) {
	h := newHarness(t)
	tk := h.client(tokTokhaiyte)
	now := h.clock.Now()
	bad := decl("tokhaiyte", "TK-bad", binh, now.Add(-time.Hour))
	bad.Person.Phone = "12"                  // no phone of any country
	bad.Person.BirthDate.Year = 1996         // contradicts the CCCD's year digits (95)
	bad.Address.ProvinceCode = "99"          // no such province
	bad.Health.Symptoms = []string{"hiccup"} // not in the common list
	batch := []*lienthongv1.Declaration{
		decl("tokhaiyte", "TK-1", an, now.Add(-time.Hour)),
		bad,
		decl("tokhaiyte", "TK-2", cuong, now.Add(-30*time.Minute)),
	}
	resp := submit(t, tk, batch...)
	if resp.GetAcceptedCount() != 2 || resp.GetRejectedCount() != 1 || resp.GetDuplicateCount() != 0 {
		t.Fatalf("counts accepted %d rejected %d duplicate %d, want 2/1/0", resp.GetAcceptedCount(), resp.GetRejectedCount(), resp.GetDuplicateCount())
	}
	keys := publishedKeys(t, h)
	wantOutcomes := []lienthongv1.Outcome{lienthongv1.Outcome_OUTCOME_ACCEPTED, lienthongv1.Outcome_OUTCOME_REJECTED, lienthongv1.Outcome_OUTCOME_ACCEPTED}
	for i, r := range resp.GetResults() {
		if r.GetIndex() != int32(i) || r.GetRecordId() != batch[i].GetSource().GetRecordId() {
			t.Errorf("result %d: index %d record %q, want in request order", i, r.GetIndex(), r.GetRecordId())
		}
		if r.GetOutcome() != wantOutcomes[i] {
			t.Errorf("result %d: outcome %v, want %v (%s)", i, r.GetOutcome(), wantOutcomes[i], violationStrings(r.GetViolations()))
		}
		if r.GetOutcome() != lienthongv1.Outcome_OUTCOME_ACCEPTED {
			continue
		}
		tok, err := qr.Verify(r.GetSignedQr(), keys, h.clock.Now())
		if err != nil {
			t.Errorf("result %d: signed QR does not verify with ListKeys' key: %v", i, err)
		} else if tok.QRID != r.GetQrId() || r.GetQrId() == "" {
			t.Errorf("result %d: signed QR names %q, result says %q", i, tok.QRID, r.GetQrId())
		}
	}
	// The bad record lists every broken rule, each with its field, and gets no identity.
	rej := resp.GetResults()[1]
	got := violationStrings(rej.GetViolations())
	for _, want := range []string{"person.phone:invalid_phone", "address.province:unknown_province", "health.symptoms:unknown_symptom", "person.document.number:cccd_birth_year"} {
		if !strings.Contains(got, want) {
			t.Errorf("rejected item violations %s, want %s among them", got, want)
		}
	}
	if rej.GetQrId() != "" || rej.GetSignedQr() != "" {
		t.Errorf("rejected item carries qr_id %q / signed QR", rej.GetQrId())
	}

	// Sending the same batch again stores nothing new: the accepted ones come back duplicate
	// with the same QR id (a retry after a lost answer is safe), and the bad one is still
	// answered rejected with its violations (the partner must learn what to fix).
	again := submit(t, tk, batch...)
	if again.GetDuplicateCount() != 2 || again.GetAcceptedCount() != 0 || again.GetRejectedCount() != 1 {
		t.Fatalf("resubmission: accepted %d duplicate %d rejected %d, want 0/2/1", again.GetAcceptedCount(), again.GetDuplicateCount(), again.GetRejectedCount())
	}
	if violationStrings(again.GetResults()[1].GetViolations()) != got {
		t.Errorf("resubmitted bad item: violations %s, want %s", violationStrings(again.GetResults()[1].GetViolations()), got)
	}
	for i := range []int{0, 2} {
		i *= 2
		if again.GetResults()[i].GetQrId() != resp.GetResults()[i].GetQrId() {
			t.Errorf("resubmitted item %d: qr_id changed", i)
		}
	}
}

func TestSubmitDeclarationsRequestErrors(t *testing.T) {
	h := newHarness(t)
	tk := h.client(tokTokhaiyte)
	now := h.clock.Now()
	many := make([]*lienthongv1.Declaration, 1001)
	for i := range many {
		many[i] = decl("tokhaiyte", fmt.Sprintf("TK-%04d", i), an, now.Add(-time.Hour))
	}
	tests := []struct {
		name          string
		decls         []*lienthongv1.Declaration
		code          codes.Code
		field, reason string
	}{
		{"empty batch", nil, codes.InvalidArgument, "declarations", "required"},
		// One over the limit: the whole request is refused, nothing stored.
		{"1001 declarations", many, codes.InvalidArgument, "declarations", "too_long"},
		// A partner may only submit for its own platform: refused whole, even though the
		// first item is its own.
		{"another platform's record", []*lienthongv1.Declaration{
			decl("tokhaiyte", "TK-own", an, now.Add(-time.Hour)),
			decl("ncovi", "NC-foreign", binh, now.Add(-time.Hour)),
		}, codes.PermissionDenied, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tk.ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{Declarations: tc.decls})
			if tc.field != "" {
				wantViolation(t, err, tc.field, tc.reason)
			} else {
				wantCode(t, err, tc.code)
			}
		})
	}
	// Nothing of the refused requests was stored: An is unknown to every checkpoint.
	resp, err := h.client(tokCheckpoint).checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: chipCardQR(an)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != lienthongv1.Status_STATUS_NONE {
		t.Fatalf("after refused requests An's status is %v, want NONE (nothing stored)", resp.GetStatus())
	}
	rs, err := h.client(tokMinistry).audit.ListRejections(ctx(t), &lienthongv1.ListRejectionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.GetRejections()) != 0 {
		t.Fatalf("refused requests left %d rejections", len(rs.GetRejections()))
	}
}

func TestStreamDeclarations(t *testing.T) {
	h := newHarness(t)
	nc := h.client(tokNCOVI)
	now := h.clock.Now()
	stream, err := nc.ingest.StreamDeclarations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	bad := decl("ncovi", "NC-bad", cuong, now.Add(-time.Hour))
	bad.DeclaredAt = nil
	batches := [][]*lienthongv1.Declaration{
		{decl("ncovi", "NC-1", an, now.Add(-3*time.Hour)), decl("ncovi", "NC-2", binh, now.Add(-3*time.Hour))},
		{bad},
		// NC-1 again (duplicate, across batches) and a new one.
		{decl("ncovi", "NC-1", an, now.Add(-3*time.Hour)), decl("ncovi", "NC-3", chi, now.Add(-time.Hour))},
	}
	for _, b := range batches {
		if err := stream.Send(&lienthongv1.StreamDeclarationsRequest{Declarations: b}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetBatchCount() != 3 || resp.GetAcceptedCount() != 3 || resp.GetRejectedCount() != 1 || resp.GetDuplicateCount() != 1 {
		t.Fatalf("summary batches %d accepted %d rejected %d duplicate %d, want 3/3/1/1",
			resp.GetBatchCount(), resp.GetAcceptedCount(), resp.GetRejectedCount(), resp.GetDuplicateCount())
	}
	want := []lienthongv1.Outcome{
		lienthongv1.Outcome_OUTCOME_ACCEPTED, lienthongv1.Outcome_OUTCOME_ACCEPTED,
		lienthongv1.Outcome_OUTCOME_REJECTED,
		lienthongv1.Outcome_OUTCOME_DUPLICATE, lienthongv1.Outcome_OUTCOME_ACCEPTED,
	}
	if len(resp.GetResults()) != len(want) {
		t.Fatalf("%d results, want %d", len(resp.GetResults()), len(want))
	}
	for i, r := range resp.GetResults() {
		// Indexes count across batches from 0.
		if r.GetIndex() != int32(i) || r.GetOutcome() != want[i] {
			t.Errorf("result %d: index %d outcome %v, want %d %v", i, r.GetIndex(), r.GetOutcome(), i, want[i])
		}
		// The contract keeps the summary small: no record id, no signed QR.
		if r.GetRecordId() != "" || r.GetSignedQr() != "" {
			t.Errorf("result %d carries record_id %q / a signed QR; the stream summary leaves them empty", i, r.GetRecordId())
		}
	}
	if resp.GetResults()[3].GetQrId() != resp.GetResults()[0].GetQrId() {
		t.Error("the duplicate of NC-1 names another QR id")
	}
	if got := violationStrings(resp.GetResults()[2].GetViolations()); got != "declared_at:required" {
		t.Errorf("rejected item violations %s, want declared_at:required", got)
	}
}

func TestStreamDeclarationsBadBatchEndsStream(t *testing.T) {
	h := newHarness(t)
	nc := h.client(tokNCOVI)
	now := h.clock.Now()
	stream, err := nc.ingest.StreamDeclarations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&lienthongv1.StreamDeclarationsRequest{Declarations: []*lienthongv1.Declaration{decl("ncovi", "NC-1", an, now.Add(-time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	// A batch for another platform: the stream ends with PermissionDenied; the first batch
	// stays stored.
	if err := stream.Send(&lienthongv1.StreamDeclarationsRequest{Declarations: []*lienthongv1.Declaration{decl("bluezone", "BZ-1", binh, now.Add(-time.Hour))}}); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.PermissionDenied)
	if st := lookup(t, h, chipCardQR(an)).GetStatus(); st != lienthongv1.Status_STATUS_CLEAR {
		t.Errorf("the first batch's person is %v, want CLEAR (earlier batches stay stored)", st)
	}
	if st := lookup(t, h, chipCardQR(binh)).GetStatus(); st != lienthongv1.Status_STATUS_NONE {
		t.Errorf("the refused batch's person is %v, want NONE (nothing of it stored)", st)
	}
}

// tokhaiyteCSV is a small native export: An, a row with a column missing, and Cường.
const tokhaiyteCSV = "Mã tờ khai,Khai hộ,Họ tên,Năm sinh,Giới tính,Quốc tịch,Số hộ chiếu/CMND/CCCD,Tỉnh/thành,Quận/huyện,Phường/xã,Số nhà/phố,Điện thoại,Email,Đi qua tỉnh/thành phố/quốc gia trong 14 ngày,Có triệu chứng,Ghi chú triệu chứng,Tiếp xúc người bệnh hoặc nghi ngờ,Tiếp xúc người từ nước có bệnh,Tiếp xúc người có biểu hiện,Thời gian khai báo\n" +
	"TKYT-2026-0000001,0,NGUYỄN VĂN AN,1990,Nam,Việt Nam,079090001234,Thành phố Hồ Chí Minh,Quận 1,Phường Bến Nghé,12 Lê Lợi,0912345678,,,Không,,2,2,2,27/11/2026 08:00:00\n" +
	"TKYT-2026-0000002,0,TRẦN THỊ BÌNH,1995,Nữ,Việt Nam,001195012345,Thành phố Hà Nội,,,,0903111222,,,Không,,2,2,2\n" +
	"TKYT-2026-0000003,0,LÊ VĂN CƯỜNG,1980,Nam,Việt Nam,,Thành phố Hồ Chí Minh,,,,0987654321,,,Có,ho,2,2,2,27/11/2026 09:00:00\n"

const ncoviPage = `{"data": [{"id": "nc_1", "account_id": "u_1", "full_name": "NGUYEN VAN AN", "date_of_birth": "1990-05-17",
 "gender": "male", "nationality": "VN", "identity_number": "079090001234", "social_insurance_number": null,
 "phone": "+84912345678", "email": null, "address": {"province": "Thành phố Hồ Chí Minh", "district": "", "ward": "", "street": ""},
 "symptoms": [], "exposures": {"contact_with_patient": false, "from_affected_area": false, "contact_with_symptomatic": false},
 "underlying_conditions": [], "created_at": "2026-11-27T08:30:00+07:00", "updated_at": "2026-11-27T08:30:00+07:00"}],
 "next_cursor": "", "has_more": false}`

const bluezoneBatch = `{"BatchId": "bz-1", "Items": [
 {"DeclarationId": "BZ-1", "BluezoneId": "A1", "KhaiHo": false, "FullName": "Trần Thị Bình", "NgaySinh": "02/03/1995", "NamSinh": "1995",
  "MaGioiTinh": "2", "MaQuocTich": "VN", "SoGiayTo": "001195012345", "MaBHXH": "", "SoDienThoai": "0903111222", "Email": "",
  "DiaChiLienLac_VN_MaTinh": "01", "DiaChiLienLac_VN_MaHuyen": "", "DiaChiLienLac_VN_MaPhuongXa": "", "DiaChiLienLac_VN_ChiTiet": "",
  "TrieuChungBenh": [{"ID": "sot", "Value": true}], "LichSuPhoiNhiem": [], "ThoiGianKhaiBao": 1795741200000}]}`

func TestSubmitNativeRecords(t *testing.T) {
	h := newHarness(t)
	type want struct {
		outcome lienthongv1.Outcome
		line    int32
		reason  string // a violation reason the item must carry
	}
	tests := []struct {
		name     string
		token    string
		platform string
		format   lienthongv1.NativeFormat
		payload  string
		want     []want
	}{
		{"tokhaiyte CSV, malformed row rejected alone with its line", tokTokhaiyte, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, tokhaiyteCSV, []want{
			{lienthongv1.Outcome_OUTCOME_ACCEPTED, 2, ""},
			{lienthongv1.Outcome_OUTCOME_REJECTED, 3, "malformed_row"},
			{lienthongv1.Outcome_OUTCOME_ACCEPTED, 4, ""},
		}},
		// The platform field may be left empty: the format says it.
		{"NCOVI page", tokNCOVI, "", lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE, ncoviPage, []want{
			{lienthongv1.Outcome_OUTCOME_ACCEPTED, 0, ""},
		}},
		{"Bluezone batch", tokBluezone, "bluezone", lienthongv1.NativeFormat_NATIVE_FORMAT_BLUEZONE_BATCH_JSON, bluezoneBatch, []want{
			{lienthongv1.Outcome_OUTCOME_ACCEPTED, 0, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := h.client(tc.token).ingest.SubmitNativeRecords(ctx(t), &lienthongv1.SubmitNativeRecordsRequest{
				Platform: tc.platform, Format: tc.format, Payload: []byte(tc.payload)})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetResults()) != len(tc.want) {
				t.Fatalf("%d results, want %d", len(resp.GetResults()), len(tc.want))
			}
			for i, w := range tc.want {
				r := resp.GetResults()[i]
				if r.GetIndex() != int32(i) || r.GetOutcome() != w.outcome || r.GetLine() != w.line {
					t.Errorf("result %d: index %d outcome %v line %d, want %d %v %d (%s)", i, r.GetIndex(), r.GetOutcome(), r.GetLine(), i, w.outcome, w.line, violationStrings(r.GetViolations()))
				}
				if w.reason != "" && !strings.Contains(violationStrings(r.GetViolations()), ":"+w.reason) {
					t.Errorf("result %d violations %s, want reason %s", i, violationStrings(r.GetViolations()), w.reason)
				}
				if w.outcome == lienthongv1.Outcome_OUTCOME_ACCEPTED && (r.GetQrId() == "" || r.GetSignedQr() == "") {
					t.Errorf("result %d accepted without qr_id or signed QR", i)
				}
			}
		})
	}
}

func TestSubmitNativeRecordsRefused(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name     string
		token    string
		platform string
		format   lienthongv1.NativeFormat
		payload  string
		code     codes.Code
	}{
		// A tokhaiyte partner sending NCOVI's format: not its platform.
		{"format of another platform", tokTokhaiyte, "", lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE, ncoviPage, codes.PermissionDenied},
		// The contract: platform must be the caller's platform, otherwise PERMISSION_DENIED.
		{"platform field of another platform", tokTokhaiyte, "ncovi", lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, tokhaiyteCSV, codes.PermissionDenied},
		{"platform and format of another platform", tokTokhaiyte, "ncovi", lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE, ncoviPage, codes.PermissionDenied},
		{"unspecified format", tokTokhaiyte, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_UNSPECIFIED, tokhaiyteCSV, codes.InvalidArgument},
		// Not the format at all: nothing stored.
		{"payload not JSON", tokNCOVI, "ncovi", lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE, "id;name\n1;An", codes.InvalidArgument},
		{"CSV without the header", tokTokhaiyte, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, "a,b,c\n1,2,3\n", codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client(tc.token).ingest.SubmitNativeRecords(ctx(t), &lienthongv1.SubmitNativeRecordsRequest{
				Platform: tc.platform, Format: tc.format, Payload: []byte(tc.payload)})
			wantCode(t, err, tc.code)
		})
	}
	// Over the contract's limits: 1,000 records, 4 MiB.
	var big strings.Builder
	big.WriteString(tokhaiyteCSV)
	for i := range 1000 {
		fmt.Fprintf(&big, "TKYT-2026-%07d,0,NGUYỄN VĂN AN,1990,Nam,Việt Nam,079090001234,Thành phố Hồ Chí Minh,,,,0912345678,,,Không,,2,2,2,27/11/2026 08:00:00\n", 10+i)
	}
	_, err := h.client(tokTokhaiyte).ingest.SubmitNativeRecords(ctx(t), &lienthongv1.SubmitNativeRecordsRequest{
		Format: lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, Payload: []byte(big.String())})
	wantViolation(t, err, "payload", "too_long")
	_, err = h.client(tokTokhaiyte).ingest.SubmitNativeRecords(ctx(t), &lienthongv1.SubmitNativeRecordsRequest{
		Format: lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, Payload: []byte(tokhaiyteCSV + strings.Repeat(" ", 4<<20))})
	wantViolation(t, err, "payload", "too_long")

	if st := lookup(t, h, chipCardQR(an)).GetStatus(); st != lienthongv1.Status_STATUS_NONE {
		t.Errorf("refused payloads stored An (%v)", st)
	}
}

func TestGetSignedQR(t *testing.T) {
	h := newHarness(t)
	tk, nc := h.client(tokTokhaiyte), h.client(tokNCOVI)
	now := h.clock.Now()
	own := accepted(t, tk, decl("tokhaiyte", "TK-1", an, now.Add(-time.Hour)))
	other := accepted(t, nc, decl("ncovi", "NC-1", binh, now.Add(-time.Hour)))
	keys := publishedKeys(t, h)

	resp, err := tk.ingest.GetSignedQR(ctx(t), &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: own.GetQrId()}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := qr.Verify(resp.GetSignedQr(), keys, now)
	if err != nil || tok.QRID != own.GetQrId() || resp.GetQrId() != own.GetQrId() || resp.GetKeyId() != tok.KeyID {
		t.Fatalf("signed QR %+v (%v) for %s", tok, err, own.GetQrId())
	}
	if got := resp.GetExpiresAt().AsTime().Sub(resp.GetIssuedAt().AsTime()); got != 72*time.Hour {
		t.Errorf("valid for %v, want 72h", got)
	}

	tests := []struct {
		name string
		req  *lienthongv1.GetSignedQRRequest
		code codes.Code
	}{
		// Another platform's person answers exactly like an unknown one.
		{"other platform's person", &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: other.GetQrId()}}, codes.NotFound},
		{"malformed qr_id", &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: "not-a-qr-id"}}, codes.InvalidArgument},
		{"nothing named", &lienthongv1.GetSignedQRRequest{}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tk.ingest.GetSignedQR(ctx(t), tc.req)
			wantCode(t, err, tc.code)
		})
	}
	// An unknown but well-formed QR id: NotFound as well.
	_, err = tk.ingest.GetSignedQR(ctx(t), &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: h.qridOf(dung)}})
	wantCode(t, err, codes.NotFound)
}
