package gateway_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/canonical/qr"
	"github.com/lienthong/lienthong/gateway/ingest"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// badWebhookSecret is the Bluezone webhook secret of the bad-input matrix.
const badWebhookSecret = "badinput-bluezone-secret"

// badWorld is the harness of the bad-input matrix: a gateway with An declared (so lookups
// have someone to find), and the Bluezone webhook over the same store and a real pipeline.
type badWorld struct {
	h        *harness
	anSigned string // An's signed QR
	webhook  *httptest.Server
}

func newBadWorld(t *testing.T) *badWorld {
	h := newHarness(t)
	r := accepted(t, h.client(tokTokhaiyte), decl("tokhaiyte", "BAD-seed-an", an, h.clock.Now().Add(-time.Hour)))
	pipe := ingest.New(ingest.Config{Store: h.store, Deriver: h.deriver, Issuer: h.ring, Now: h.clock.Now})
	bz, err := bluezone.NewHandler(bluezone.Config{Secret: []byte(badWebhookSecret), Now: h.clock.Now}, pipe)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(bz)
	t.Cleanup(srv.Close)
	return &badWorld{h: h, anSigned: r.GetSignedQr(), webhook: srv}
}

// statsSnapshot is every counter of GetStatistics as the ministry reads it, keyed by its cell.
func (w *badWorld) statsSnapshot(t *testing.T) map[string]int64 {
	t.Helper()
	resp, err := w.h.client(tokMinistry).audit.GetStatistics(ctx(t), &lienthongv1.GetStatisticsRequest{})
	if err != nil {
		t.Fatalf("GetStatistics: %v", err)
	}
	out := map[string]int64{}
	for _, c := range resp.GetDeclarationCounts() {
		out[fmt.Sprintf("decl|%s|%s|%v|%s|%s", c.GetDay(), c.GetPlatform(), c.GetOutcome(), c.GetReason(), c.GetProvince())] += c.GetCount()
	}
	for _, c := range resp.GetPassageCounts() {
		out[fmt.Sprintf("passage|%s|%s|%v", c.GetDay(), c.GetStationId(), c.GetDecision())] += c.GetCount()
	}
	return out
}

// statsDelta is after minus before, as "platform outcome reason" → change (cells summed over
// days and provinces; zero changes left out).
func statsDelta(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, k := range slices.Collect(maps.Keys(after)) {
		out[deltaKey(k)] += after[k]
	}
	for k, v := range before {
		out[deltaKey(k)] -= v
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

func deltaKey(k string) string {
	f := strings.Split(k, "|")
	if f[0] == "passage" {
		return "passage " + f[2]
	}
	outcome := "accepted"
	if f[3] == lienthongv1.Outcome_OUTCOME_REJECTED.String() {
		outcome = "rejected:" + f[4]
	}
	return f[2] + " " + outcome
}

// answer is what one bad input got: a gRPC error (or nil) with per-item results, or an HTTP
// answer of the webhook.
type answer struct {
	err        error
	items      []*lienthongv1.ItemResult
	httpStatus int
	httpCode   string   // the webhook's error code
	httpItems  []string // the webhook's per-item "status:field:reason"
}

// signedPost posts body to the webhook with a timestamp at ts and a signature made with secret.
func (w *badWorld) signedPost(t *testing.T, body []byte, ts time.Time, secret string) answer {
	t.Helper()
	stamp := bluezone.Timestamp(ts)
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, w.webhook.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(bluezone.HeaderTimestamp, stamp)
	if secret != "" {
		req.Header.Set(bluezone.HeaderSignature, bluezone.Sign([]byte(secret), stamp, body))
	}
	return w.do(t, req)
}

func (w *badWorld) do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("webhook: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{httpStatus: resp.StatusCode}
	var body struct {
		Error   bluezone.ErrorDetail
		Results []bluezone.Status
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("webhook answered %d with a body that is not JSON: %q", resp.StatusCode, b)
	}
	a.httpCode = body.Error.Code
	for _, r := range body.Results {
		s := r.Status
		for _, v := range r.Reasons {
			s += ":" + v.Field + ":" + v.Code
		}
		a.httpItems = append(a.httpItems, s)
	}
	return a
}

// bzItem is one Bluezone item about An (or someone like him), declared at `at`.
func bzItem(id, name string, at time.Time) map[string]any {
	return map[string]any{
		"DeclarationId": id, "BluezoneId": "BZ-DEV-1", "KhaiHo": false, "FullName": name,
		"NgaySinh": "17/05/1990", "NamSinh": "1990", "MaGioiTinh": "1", "MaQuocTich": "VN",
		"SoGiayTo": an.doc, "MaBHXH": "", "SoDienThoai": an.phone, "Email": "",
		"DiaChiLienLac_VN_MaTinh": "79", "DiaChiLienLac_VN_MaHuyen": "760", "DiaChiLienLac_VN_MaPhuongXa": "26734",
		"DiaChiLienLac_VN_ChiTiet": "12 Lê Lợi",
		"TrieuChungBenh":           []map[string]any{{"ID": "sot", "Value": false}},
		"LichSuPhoiNhiem":          []map[string]any{{"ID": "tiep_xuc_f0", "Value": false}},
		"ThoiGianKhaiBao":          at.UnixMilli(),
	}
}

func bzBatch(t *testing.T, id string, items ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"BatchId": id, "Items": items})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tkCSV is a tokhaiyte CSV export with the given data rows after the header.
func tkCSV(rows ...string) []byte {
	const header = "Mã tờ khai,Khai hộ,Họ tên,Năm sinh,Giới tính,Quốc tịch,Số hộ chiếu/CMND/CCCD,Tỉnh/thành,Quận/huyện,Phường/xã,Số nhà/phố,Điện thoại,Email,Đi qua tỉnh/thành phố/quốc gia trong 14 ngày,Có triệu chứng,Ghi chú triệu chứng,Tiếp xúc người bệnh hoặc nghi ngờ,Tiếp xúc người từ nước có bệnh,Tiếp xúc người có biểu hiện,Thời gian khai báo"
	return []byte(header + "\r\n" + strings.Join(rows, "\r\n") + "\r\n")
}

// tkRow is one good tokhaiyte row about Bình with the given form id and name.
func tkRow(id, name string) string {
	return id + ",0," + name + ",1995,Nữ,Việt Nam,001195012345,Thành phố Hà Nội,Quận Ba Đình,Phường Điện Biên,1 Hùng Vương,0903111222,,,Không,,2,2,2,27/11/2026 08:00:00"
}

// TestBadInputMatrix sends every kind of bad input through the real gRPC server (and the
// Bluezone webhook over the real pipeline): each gets its exact code and reason, and the
// statistics change by exactly what was valid in it.
func TestBadInputMatrix(t *testing.T) {
	w := newBadWorld(t)
	h := w.h
	now := h.clock.Now()
	tk, nc, cp, min := h.client(tokTokhaiyte), h.client(tokNCOVI), h.client(tokCheckpoint), h.client(tokMinistry)

	cur := h.ring.Keys()[0]
	signAn := func(id string, priv ed25519.PrivateKey, iat, exp time.Time) string {
		s, err := qr.NewSigner(id, priv)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.SignToken(qr.Token{QRID: h.qridOf(an), IssuedAt: iat, ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	forged := []byte(w.anSigned)
	if forged[len(forged)-5] == 'A' { // flip one character of the signature
		forged[len(forged)-5] = 'B'
	} else {
		forged[len(forged)-5] = 'A'
	}
	chip := chipCardQR(an)
	p1405 := personal1405QR(an, "", false)

	lookupQR := func(raw string) func(*testing.T) answer {
		return func(t *testing.T) answer {
			_, err := cp.checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: raw})
			return answer{err: err}
		}
	}
	submitAs := func(c client, ds ...*lienthongv1.Declaration) func(*testing.T) answer {
		return func(t *testing.T) answer {
			resp, err := c.ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{Declarations: ds})
			return answer{err: err, items: resp.GetResults()}
		}
	}
	// one declaration of Bình on tokhaiyte, changed by edit.
	binhDecl := func(id string, edit func(*lienthongv1.Declaration)) *lienthongv1.Declaration {
		d := decl("tokhaiyte", id, binh, now.Add(-30*time.Minute))
		edit(d)
		return d
	}
	native := func(c client, platform string, format lienthongv1.NativeFormat, payload []byte) func(*testing.T) answer {
		return func(t *testing.T) answer {
			resp, err := c.ingest.SubmitNativeRecords(ctx(t), &lienthongv1.SubmitNativeRecordsRequest{Platform: platform, Format: format, Payload: payload})
			return answer{err: err, items: resp.GetResults()}
		}
	}
	passage := func(c client, req *lienthongv1.RecordPassageRequest) func(*testing.T) answer {
		return func(t *testing.T) answer {
			_, err := c.checkpoint.RecordPassage(ctx(t), req)
			return answer{err: err}
		}
	}
	stats := func(c client, req *lienthongv1.GetStatisticsRequest) func(*testing.T) answer {
		return func(t *testing.T) answer {
			_, err := c.audit.GetStatistics(ctx(t), req)
			return answer{err: err}
		}
	}
	many := func(n int, prefix string) []*lienthongv1.Declaration {
		out := make([]*lienthongv1.Declaration, n)
		for i := range out {
			out[i] = decl("tokhaiyte", fmt.Sprintf("%s-%04d", prefix, i), binh, now.Add(-time.Hour))
		}
		return out
	}
	manyItems := make([]map[string]any, 1001)
	for i := range manyItems {
		manyItems[i] = bzItem(fmt.Sprintf("BZ-MANY-%04d", i), an.name, now.Add(-time.Hour))
	}
	goodBatch := bzBatch(t, "bz-good", bzItem("BZ-GOOD-1", an.name, now.Add(-time.Hour)))

	tests := []struct {
		name string
		call func(*testing.T) answer
		// A refused call: its gRPC code and, for InvalidArgument, the field violation
		// ("field:reason"). codes.OK: the call succeeds and items says what each item got.
		code      codes.Code
		violation string
		// Per item: "accepted", or "rejected:field:reason" (one of its reasons).
		items []string
		// The webhook's HTTP status and error code; 200 answers carry items instead.
		httpStatus int
		httpCode   string
		// The statistics change, "platform accepted" or "platform rejected:reason" → count;
		// nil means nothing changes.
		delta map[string]int64
	}{
		// --- Checkpoint lookups: every unreadable QR is INVALID_ARGUMENT qr:malformed, never
		// NOT_FOUND (that would tell a forger the shape was right).
		{name: "lookup garbage text", call: lookupQR("hello world"), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup empty QR", call: lookupQR(""), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup truncated signed QR", call: lookupQR(w.anSigned[:len(w.anSigned)-20]), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup forged signature", call: lookupQR(string(forged)), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup expired signed QR", call: lookupQR(signAn(cur.ID, cur.Private, now.Add(-80*time.Hour), now.Add(-8*time.Hour))), code: codes.InvalidArgument, violation: "qr:malformed"},
		// The current key's id, signed with someone else's key.
		{name: "lookup wrong-key signed QR", call: lookupQR(signAn(cur.ID, otherPriv, now, now.Add(time.Hour))), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup unknown key id", call: lookupQR(signAn("k-unknown", otherPriv, now, now.Add(time.Hour))), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup 1405 QR missing fields", call: lookupQR(strings.Join(strings.Split(p1405, "|")[:3], "|")), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup 1405 QR extra fields", call: lookupQR(p1405 + "|x|y"), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup 1405 QR with a bad birth date", call: lookupQR(strings.Replace(p1405, "1990-05-17", "1990-13-45", 1)), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup chip-card QR missing fields", call: lookupQR(strings.Join(strings.Split(chip, "|")[:4], "|")), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup chip-card QR extra fields", call: lookupQR(chip + "|extra|more"), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup chip-card QR 11-digit CCCD", call: lookupQR(chip[1:]), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup chip-card QR with a control character in the name", call: lookupQR(strings.Replace(chip, an.name, "Nguyễn\x07Văn An", 1)), code: codes.InvalidArgument, violation: "qr:malformed"},
		// The contract bounds a QR at 2 KiB; qr.Parse reports a longer one as malformed
		// (a checkpoint cannot do anything different with the two).
		{name: "lookup QR that is not UTF-8", call: lookupQR("\xff\xfe\xfd"), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "lookup 3 KiB QR", call: lookupQR(strings.Repeat("A", 3<<10)), code: codes.InvalidArgument, violation: "qr:malformed"},

		// --- Partner declarations: a bad item is rejected alone with its reason.
		{name: "name with a control character", call: submitAs(tk, binhDecl("BAD-ctl", func(d *lienthongv1.Declaration) { d.Person.FullName = "Trần Thị\x00 Bình" })),
			items: []string{"rejected:person.full_name:control_character"}, delta: map[string]int64{"tokhaiyte rejected:control_character": 1}},
		{name: "name with an escape sequence", call: submitAs(tk, binhDecl("BAD-esc", func(d *lienthongv1.Declaration) { d.Person.FullName = "Trần \x1b[31mBình" })),
			items: []string{"rejected:person.full_name:control_character"}, delta: map[string]int64{"tokhaiyte rejected:control_character": 1}},
		{name: "name of 300 letters", call: submitAs(tk, binhDecl("BAD-long", func(d *lienthongv1.Declaration) { d.Person.FullName = strings.Repeat("Bình ", 60) })),
			items: []string{"rejected:person.full_name:too_long"}, delta: map[string]int64{"tokhaiyte rejected:too_long": 1}},
		// 10 MB is over the gRPC message limit (8 MiB): refused before decoding.
		{name: "name of 10 MB", call: submitAs(tk, binhDecl("BAD-10mb", func(d *lienthongv1.Declaration) { d.Person.FullName = strings.Repeat("a", 10<<20) })),
			code: codes.ResourceExhausted},
		// The contract does not check UTF-8 while decoding (utf8_validation = NONE): a
		// declaration whose text is not UTF-8 is rejected alone, naming the field, and the good
		// one beside it is stored (a proto3 decoder would have refused the whole request).
		{name: "name that is not UTF-8 over gRPC", call: submitAs(tk, binhDecl("UTF8-GOOD", func(*lienthongv1.Declaration) {}),
			binhDecl("BAD-utf8", func(d *lienthongv1.Declaration) { d.Person.FullName = "Tr\xffn Th\xc3 B\xccnh" })),
			items: []string{"accepted", "rejected:person.full_name:invalid_utf8"}, delta: map[string]int64{"tokhaiyte accepted": 1, "tokhaiyte rejected:invalid_utf8": 1}},
		{name: "record id that is not UTF-8", call: submitAs(tk, binhDecl("BAD-\xff\xfe", func(*lienthongv1.Declaration) {})),
			items: []string{"rejected:source.record_id:invalid_utf8"}, delta: map[string]int64{"tokhaiyte rejected:invalid_utf8": 1}},
		{name: "declared_at missing", call: submitAs(tk, binhDecl("BAD-noat", func(d *lienthongv1.Declaration) { d.DeclaredAt = nil })),
			items: []string{"rejected:declared_at:required"}, delta: map[string]int64{"tokhaiyte rejected:required": 1}},
		{name: "declared_at negative", call: submitAs(tk, binhDecl("BAD-negat", func(d *lienthongv1.Declaration) { d.DeclaredAt = &timestamppb.Timestamp{Seconds: -86400} })),
			items: []string{"rejected:person.birth_date:birth_date_future"}, delta: map[string]int64{"tokhaiyte rejected:birth_date_future": 1}},
		// Seconds 0 is the Unix epoch, not "unset": 1970 is before Bình was born.
		{name: "declared_at zero", call: submitAs(tk, binhDecl("BAD-zeroat", func(d *lienthongv1.Declaration) { d.DeclaredAt = &timestamppb.Timestamp{} })),
			items: []string{"rejected:person.birth_date:birth_date_future"}, delta: map[string]int64{"tokhaiyte rejected:birth_date_future": 1}},
		{name: "declared_at year 9999", call: submitAs(tk, binhDecl("BAD-9999", func(d *lienthongv1.Declaration) {
			d.DeclaredAt = timestamppb.New(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
		})), items: []string{"rejected:declared_at:declared_in_future"},
			// Seen from 9999, Bình (born 1995) is also more than 130 years old.
			delta: map[string]int64{"tokhaiyte rejected:declared_in_future": 1, "tokhaiyte rejected:birth_date_too_old": 1}},
		// Beyond the range of a protobuf Timestamp.
		{name: "declared_at out of range", call: submitAs(tk, binhDecl("BAD-range", func(d *lienthongv1.Declaration) { d.DeclaredAt = &timestamppb.Timestamp{Seconds: 1 << 62} })),
			items: []string{"rejected:declared_at:malformed"}, delta: map[string]int64{"tokhaiyte rejected:malformed": 1}},
		{name: "birth date in the future", call: submitAs(tk, binhDecl("BAD-born", func(d *lienthongv1.Declaration) {
			d.Person.Document = nil
			d.Person.BirthDate = &lienthongv1.BirthDate{Year: 2027, Month: 6, Day: 1, Precision: lienthongv1.DatePrecision_DATE_PRECISION_DAY}
		})), items: []string{"rejected:person.birth_date:birth_date_future"}, delta: map[string]int64{"tokhaiyte rejected:birth_date_future": 1}},
		{name: "birth year 1800", call: submitAs(tk, binhDecl("BAD-old", func(d *lienthongv1.Declaration) {
			d.Person.Document = nil
			d.Person.BirthDate = &lienthongv1.BirthDate{Year: 1800, Precision: lienthongv1.DatePrecision_DATE_PRECISION_YEAR}
		})), items: []string{"rejected:person.birth_date:birth_date_too_old"}, delta: map[string]int64{"tokhaiyte rejected:birth_date_too_old": 1}},
		{name: "record id missing", call: submitAs(tk, binhDecl("", func(*lienthongv1.Declaration) {})),
			items: []string{"rejected:source.record_id:required"}, delta: map[string]int64{"tokhaiyte rejected:required": 1}},
		// One bad item does not take the good one in the same batch down with it.
		{name: "good and bad in one batch", call: submitAs(tk,
			decl("tokhaiyte", "BAD-mixed-good", binh, now.Add(-20*time.Minute)),
			binhDecl("BAD-mixed-bad", func(d *lienthongv1.Declaration) { d.Person.Phone = "12" })),
			items: []string{"accepted", "rejected:person.phone:invalid_phone"}, delta: map[string]int64{"tokhaiyte accepted": 1, "tokhaiyte rejected:invalid_phone": 1}},
		{name: "empty batch", call: submitAs(tk), code: codes.InvalidArgument, violation: "declarations:required"},
		{name: "1001 declarations", call: submitAs(tk, many(1001, "BAD-MANY")...), code: codes.InvalidArgument, violation: "declarations:too_long"},
		// Refused whole, although the first item is the partner's own.
		{name: "partner submitting for another platform", call: submitAs(tk,
			decl("tokhaiyte", "BAD-own", binh, now.Add(-time.Hour)), decl("ncovi", "BAD-foreign", binh, now.Add(-time.Hour))),
			code: codes.PermissionDenied},
		{name: "checkpoint submitting declarations", call: submitAs(cp, decl("tokhaiyte", "BAD-cp", binh, now.Add(-time.Hour))), code: codes.PermissionDenied},
		{name: "unknown bearer token", call: submitAs(h.client(tokBad), decl("tokhaiyte", "BAD-tok", binh, now.Add(-time.Hour))), code: codes.Unauthenticated},
		{name: "no bearer token", call: submitAs(h.client(""), decl("tokhaiyte", "BAD-notok", binh, now.Add(-time.Hour))), code: codes.Unauthenticated},

		// --- Native records.
		{name: "native records for another platform", call: native(nc, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, tkCSV(tkRow("TKYT-X-1", "TRẦN THỊ BÌNH"))), code: codes.PermissionDenied},
		{name: "native format unspecified", call: native(tk, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_UNSPECIFIED, tkCSV(tkRow("TKYT-X-2", "TRẦN THỊ BÌNH"))), code: codes.InvalidArgument, violation: "format:required"},
		{name: "native format unknown", call: native(tk, "tokhaiyte", lienthongv1.NativeFormat(99), tkCSV(tkRow("TKYT-X-2b", "TRẦN THỊ BÌNH"))), code: codes.InvalidArgument, violation: "format:malformed"},
		// The format is NCOVI's: the gateway answers as for any record of another platform,
		// before decoding, so the answer does not depend on the payload.
		{name: "native format of another platform", call: native(tk, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE, tkCSV(tkRow("TKYT-X-3", "TRẦN THỊ BÌNH"))), code: codes.PermissionDenied},
		{name: "truncated NCOVI page", call: native(nc, "ncovi", lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE, []byte(`{"data": [{"id": "nc_1", "full_name": "NGUY`)), code: codes.InvalidArgument, violation: "payload:malformed"},
		// encoding/json silently turns invalid UTF-8 into U+FFFD; the adapter must notice. The
		// good record of the page is stored.
		{name: "NCOVI record whose name is not UTF-8", call: native(nc, "ncovi", lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE,
			[]byte(`{"data": [`+ncRecord("nc_bad_utf8_1", "TRAN THI BINH", now)+`,`+ncRecord("nc_bad_utf8_2", "TR\xffN TH\xc3 B\xccNH", now)+`], "next_cursor": "x", "has_more": false}`)),
			items: []string{"accepted", "rejected:person.full_name:invalid_utf8"}, delta: map[string]int64{"ncovi accepted": 1, "ncovi rejected:invalid_utf8": 1}},
		// A row with a column missing is rejected alone; the good row is stored.
		{name: "CSV row with a missing column", call: native(tk, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV,
			tkCSV(tkRow("TKYT-X-4", "TRẦN THỊ BÌNH"), "TKYT-X-5,0,TRẦN THỊ BÌNH,1995")),
			// The short row also lacks the required fields it would have held.
			items: []string{"accepted", "rejected:row:malformed_row"}, delta: map[string]int64{"tokhaiyte accepted": 1, "tokhaiyte rejected:malformed_row": 1, "tokhaiyte rejected:required": 1}},
		{name: "CSV name that is not UTF-8", call: native(tk, "tokhaiyte", lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, tkCSV(tkRow("TKYT-X-6", "TR\xffN TH\xc3 BÌNH"))),
			items: []string{"rejected:person.full_name:invalid_utf8"}, delta: map[string]int64{"tokhaiyte rejected:invalid_utf8": 1}},

		// --- Passages and statistics of checkpoints.
		{name: "passage at another station", call: passage(cp, &lienthongv1.RecordPassageRequest{PassageId: "BAD-p1", StationId: station01,
			Person: &lienthongv1.RecordPassageRequest_QrId{QrId: h.qridOf(an)}, Decision: lienthongv1.Decision_DECISION_ALLOWED, PassedAt: timestamppb.New(now)}), code: codes.PermissionDenied},
		{name: "passage without passed_at", call: passage(cp, &lienthongv1.RecordPassageRequest{PassageId: "BAD-p2", StationId: station79,
			Person: &lienthongv1.RecordPassageRequest_QrId{QrId: h.qridOf(an)}, Decision: lienthongv1.Decision_DECISION_ALLOWED}), code: codes.InvalidArgument, violation: "passed_at:required"},
		{name: "passage an hour ahead", call: passage(cp, &lienthongv1.RecordPassageRequest{PassageId: "BAD-p3", StationId: station79,
			Person: &lienthongv1.RecordPassageRequest_QrId{QrId: h.qridOf(an)}, Decision: lienthongv1.Decision_DECISION_ALLOWED, PassedAt: timestamppb.New(now.Add(time.Hour))}), code: codes.InvalidArgument, violation: "passed_at:declared_in_future"},
		{name: "passage without a person", call: passage(cp, &lienthongv1.RecordPassageRequest{PassageId: "BAD-p4", StationId: station79,
			Decision: lienthongv1.Decision_DECISION_ALLOWED, PassedAt: timestamppb.New(now)}), code: codes.InvalidArgument, violation: "person:required"},
		{name: "passage with a forged QR", call: passage(cp, &lienthongv1.RecordPassageRequest{PassageId: "BAD-p5", StationId: station79,
			Person: &lienthongv1.RecordPassageRequest_Qr{Qr: string(forged)}, Decision: lienthongv1.Decision_DECISION_ALLOWED, PassedAt: timestamppb.New(now)}), code: codes.InvalidArgument, violation: "qr:malformed"},
		{name: "checkpoint statistics of another province", call: stats(cp, &lienthongv1.GetStatisticsRequest{Province: "01", ProvinceCodeSet: lienthongv1.CodeSet_CODE_SET_2021}), code: codes.PermissionDenied},
		{name: "checkpoint statistics of another station", call: stats(cp, &lienthongv1.GetStatisticsRequest{StationId: station01}), code: codes.PermissionDenied},

		// --- Ministry reads.
		{name: "history without a reason", call: func(t *testing.T) answer {
			_, err := min.audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: h.qridOf(an)})
			return answer{err: err}
		}, code: codes.InvalidArgument, violation: "reason:required"},
		{name: "history with a reason that is not UTF-8", call: func(t *testing.T) answer {
			_, err := min.audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: h.qridOf(an), Reason: "case \xff\xfe 42"})
			return answer{err: err}
		}, code: codes.InvalidArgument, violation: "reason:invalid_utf8"},
		{name: "history of a malformed QR id", call: func(t *testing.T) answer {
			_, err := min.audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: "not a qr id", Reason: "case 42"})
			return answer{err: err}
		}, code: codes.InvalidArgument, violation: "qr_id:malformed"},
		{name: "statistics from a day that is no date", call: stats(min, &lienthongv1.GetStatisticsRequest{FromDay: "2026-13-01"}), code: codes.InvalidArgument, violation: "from_day:malformed"},
		{name: "statistics by province without a code set", call: stats(min, &lienthongv1.GetStatisticsRequest{Province: "79"}), code: codes.InvalidArgument, violation: "province_code_set:required"},

		// --- The Bluezone webhook (HTTP).
		{name: "webhook wrong HMAC", call: func(t *testing.T) answer { return w.signedPost(t, goodBatch, now, "not-the-secret") },
			httpStatus: http.StatusUnauthorized, httpCode: bluezone.CodeBadSignature},
		{name: "webhook without a signature", call: func(t *testing.T) answer { return w.signedPost(t, goodBatch, now, "") },
			httpStatus: http.StatusUnauthorized, httpCode: bluezone.CodeMissingSignature},
		// A correctly signed batch replayed ten minutes later: outside the 300 s window.
		{name: "webhook replayed outside the window", call: func(t *testing.T) answer {
			return w.signedPost(t, goodBatch, now.Add(-10*time.Minute), badWebhookSecret)
		}, httpStatus: http.StatusUnauthorized, httpCode: bluezone.CodeStaleTimestamp},
		{name: "webhook truncated body", call: func(t *testing.T) answer {
			return w.signedPost(t, goodBatch[:len(goodBatch)/2], now, badWebhookSecret)
		}, httpStatus: http.StatusBadRequest, httpCode: bluezone.CodeMalformedBody},
		{name: "webhook 1001 items", call: func(t *testing.T) answer {
			return w.signedPost(t, bzBatch(t, "bz-many", manyItems...), now, badWebhookSecret)
		}, httpStatus: http.StatusBadRequest, httpCode: bluezone.CodeTooManyItems},
		{name: "webhook body over 4 MiB", call: func(t *testing.T) answer {
			return w.signedPost(t, bzBatch(t, "bz-big", bzItem("BZ-BIG-1", strings.Repeat("a", 5<<20), now)), now, badWebhookSecret)
		}, httpStatus: http.StatusRequestEntityTooLarge, httpCode: bluezone.CodeBodyTooLarge},
		{name: "webhook GET", call: func(t *testing.T) answer {
			req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, w.webhook.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			return w.do(t, req)
		}, httpStatus: http.StatusMethodNotAllowed, httpCode: bluezone.CodeMethodNotAllowed},
		// A control character inside a JSON string: the item is rejected alone, the good one
		// stored.
		{name: "webhook item with a control character in the name", call: func(t *testing.T) answer {
			return w.signedPost(t, bzBatch(t, "bz-ctl", bzItem("BZ-CTL-GOOD", an.name, now.Add(-time.Hour)), bzItem("BZ-CTL-BAD", "Nguyễn\u0008 Văn An", now.Add(-time.Hour))), now, badWebhookSecret)
		}, httpStatus: http.StatusOK, items: []string{"accepted", "rejected:person.full_name:control_character"},
			delta: map[string]int64{"bluezone accepted": 1, "bluezone rejected:control_character": 1}},
		// encoding/json silently turns invalid UTF-8 into U+FFFD; the adapter must notice.
		{name: "webhook item with invalid UTF-8 in the name", call: func(t *testing.T) answer {
			body := bzBatch(t, "bz-utf8", bzItem("BZ-UTF8-BAD", "NGUYEN_PLACEHOLDER", now.Add(-time.Hour)))
			body = bytes.Replace(body, []byte("NGUYEN_PLACEHOLDER"), []byte("Nguy\xe1\xbb Văn An"), 1)
			return w.signedPost(t, body, now, badWebhookSecret)
		}, httpStatus: http.StatusOK, items: []string{"rejected:person.full_name:invalid_utf8"},
			delta: map[string]int64{"bluezone rejected:invalid_utf8": 1}},
		{name: "webhook item declared in year 9999", call: func(t *testing.T) answer {
			return w.signedPost(t, bzBatch(t, "bz-9999", bzItem("BZ-9999", an.name, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))), now, badWebhookSecret)
		}, httpStatus: http.StatusOK, items: []string{"rejected:declared_at:declared_in_future"},
			delta: map[string]int64{"bluezone rejected:declared_in_future": 1, "bluezone rejected:birth_date_too_old": 1}},
		// Milliseconds beyond year 9999 once made the store fail the whole batch (500).
		{name: "webhook item declared beyond year 9999", call: func(t *testing.T) answer {
			bad := bzItem("BZ-HUGE-BAD", an.name, now)
			bad["ThoiGianKhaiBao"] = int64(1) << 62
			return w.signedPost(t, bzBatch(t, "bz-huge", bzItem("BZ-HUGE-GOOD", an.name, now.Add(-time.Hour)), bad), now, badWebhookSecret)
		}, httpStatus: http.StatusOK, items: []string{"accepted", "rejected:declared_at:malformed"},
			delta: map[string]int64{"bluezone accepted": 1, "bluezone rejected:malformed": 1}},
	}
	if len(tests) < 40 {
		t.Fatalf("the matrix has %d cases; the issue asks for at least 40", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.statsSnapshot(t)
			a := tc.call(t)
			switch {
			case tc.httpStatus != 0:
				if a.httpStatus != tc.httpStatus || a.httpCode != tc.httpCode {
					t.Errorf("webhook answered %d %q, want %d %q", a.httpStatus, a.httpCode, tc.httpStatus, tc.httpCode)
				}
				checkItems(t, a.httpItems, tc.items)
			case tc.code != codes.OK:
				if tc.violation != "" {
					field, reason, _ := strings.Cut(tc.violation, ":")
					wantViolation(t, a.err, field, reason)
				} else {
					wantCode(t, a.err, tc.code)
				}
			default:
				if a.err != nil {
					t.Fatalf("call failed: %v", a.err)
				}
				got := make([]string, len(a.items))
				for i, r := range a.items {
					got[i] = itemString(r)
				}
				checkItems(t, got, tc.items)
			}
			delta := statsDelta(before, w.statsSnapshot(t))
			want := tc.delta
			if want == nil {
				want = map[string]int64{}
			}
			if !maps.Equal(delta, want) {
				t.Errorf("statistics changed by %v, want %v", delta, want)
			}
		})
	}
}

// itemString renders an item result as "accepted" or "rejected:field:reason,field:reason".
func itemString(r *lienthongv1.ItemResult) string {
	switch r.GetOutcome() {
	case lienthongv1.Outcome_OUTCOME_ACCEPTED:
		return "accepted"
	case lienthongv1.Outcome_OUTCOME_DUPLICATE:
		return "duplicate"
	}
	return "rejected:" + violationStrings(r.GetViolations())
}

// checkItems requires one answer per wanted item, each with the wanted outcome and (for a
// rejection) the wanted "field:reason" among its reasons.
func checkItems(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d item results %q, want %d like %q", len(got), got, len(want), want)
	}
	for i := range want {
		if !itemMatches(got[i], want[i]) {
			t.Errorf("item %d: %q, want %q", i, got[i], want[i])
		}
	}
}

func itemMatches(got, want string) bool {
	w, ok := strings.CutPrefix(want, "rejected:")
	if !ok {
		return got == want
	}
	g, ok := strings.CutPrefix(got, "rejected:")
	if !ok {
		return false
	}
	// The gRPC form is "field:reason,field:reason"; the webhook's "rejected:field:reason:...".
	for _, v := range strings.Split(strings.ReplaceAll(g, "rejected:", ""), ",") {
		if v == w {
			return true
		}
	}
	// The webhook form chains every reason: "field:reason:field:reason".
	parts := strings.Split(g, ":")
	for i := 0; i+1 < len(parts); i += 2 {
		if parts[i]+":"+parts[i+1] == w {
			return true
		}
	}
	return false
}

// ncRecord is one NCOVI record about Bình, declared 30 minutes before now.
func ncRecord(id, name string, now time.Time) string {
	at := now.Add(-30 * time.Minute).In(time.FixedZone("ICT", 7*3600)).Format(time.RFC3339)
	return `{"id": "` + id + `", "account_id": "u_1", "full_name": "` + name + `", "date_of_birth": "1995-03-02", "gender": "female",
		"nationality": "VN", "identity_number": "001195012345", "social_insurance_number": null, "phone": "+84903111222", "email": null,
		"address": {"province": "Thành phố Hà Nội", "district": "Quận Ba Đình", "ward": "Phường Điện Biên", "street": "1 Hùng Vương"},
		"symptoms": [], "exposures": {"contact_with_patient": false, "from_affected_area": false, "contact_with_symptomatic": false},
		"underlying_conditions": [], "created_at": "` + at + `", "updated_at": "` + at + `"}`
}
