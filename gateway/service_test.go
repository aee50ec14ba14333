package gateway_test

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/canonical/qr"
	"github.com/lienthong/lienthong/gateway/auth"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func TestRotateKeyKeepsOldQRsValid(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	before := accepted(t, h.client(tokTokhaiyte), decl("tokhaiyte", "TK-an", an, now.Add(-time.Hour)))
	oldKeys, err := h.client("").keys.ListKeys(ctx(t), &lienthongv1.ListKeysRequest{})
	if err != nil {
		t.Fatalf("ListKeys without a token: %v", err)
	}
	if len(oldKeys.GetKeys()) != 1 || !oldKeys.GetKeys()[0].GetCurrent() || len(oldKeys.GetKeys()[0].GetPublicKey()) != 32 {
		t.Fatalf("keys before rotation: %v", oldKeys.GetKeys())
	}
	oldID := oldKeys.GetKeys()[0].GetKeyId()

	// The key ids are derived from the clock: rotate a day later so they differ.
	h.clock.Advance(24 * time.Hour)
	rot, err := h.client(tokMinistry).keys.RotateKey(ctx(t), &lienthongv1.RotateKeyRequest{Reason: "scheduled rotation"})
	if err != nil {
		t.Fatal(err)
	}
	newID := rot.GetKey().GetKeyId()
	if newID == oldID || !rot.GetKey().GetCurrent() || len(rot.GetKeys()) != 2 {
		t.Fatalf("rotation answered key %v among %d keys", rot.GetKey(), len(rot.GetKeys()))
	}
	var current int
	for _, k := range rot.GetKeys() {
		if k.GetCurrent() {
			current++
		}
		if k.GetKeyId() == oldID && (k.GetRetiredAt() == nil || !k.GetNotAfter().AsTime().Equal(k.GetRetiredAt().AsTime().Add(72*time.Hour))) {
			t.Errorf("retired key %v: want retired_at and not_after 72 h later", k)
		}
	}
	if current != 1 {
		t.Errorf("%d current keys, want exactly one", current)
	}

	// A QR signed before the rotation still verifies at the checkpoint.
	resp := lookup(t, h, before.GetSignedQr())
	if resp.GetQrForm() != lienthongv1.QRForm_QR_FORM_SIGNED || resp.GetQrId() != before.GetQrId() {
		t.Fatalf("old QR after rotation: %v", resp)
	}
	// A new QR is signed by the new key, and verifies with the published keys.
	after := accepted(t, h.client(tokNCOVI), decl("ncovi", "NC-an", an, h.clock.Now().Add(-time.Hour)))
	tok, err := qr.Verify(after.GetSignedQr(), publishedKeys(t, h), h.clock.Now())
	if err != nil || tok.KeyID != newID {
		t.Fatalf("QR after rotation signed by %q (%v), want %q", tok.KeyID, err, newID)
	}
}

// TestRotateKeyTwiceAtOneInstant rotates twice without the clock moving (a frozen test clock,
// or two ministries at the same second): the answer still names the new key, and exactly one
// key is current.
func TestRotateKeyTwiceAtOneInstant(t *testing.T) {
	h := newHarness(t)
	min := h.client(tokMinistry)
	for i := range 2 {
		rot, err := min.keys.RotateKey(ctx(t), &lienthongv1.RotateKeyRequest{})
		if err != nil {
			t.Fatal(err)
		}
		signer := h.ring.Keys()
		var signerID string
		for _, k := range signer {
			if k.RetiredAt.IsZero() {
				signerID = k.ID
			}
		}
		if rot.GetKey().GetKeyId() != signerID || rot.GetKey().GetRetiredAt() != nil {
			t.Fatalf("rotation %d answered key %s (retired %v), the signer is %s", i, rot.GetKey().GetKeyId(), rot.GetKey().GetRetiredAt(), signerID)
		}
		var current []string
		for _, k := range rot.GetKeys() {
			if k.GetCurrent() {
				current = append(current, k.GetKeyId())
			}
		}
		if !slices.Equal(current, []string{signerID}) {
			t.Fatalf("rotation %d: current keys %v, want only the signer %s", i, current, signerID)
		}
	}
}

func TestRateLimit(t *testing.T) {
	// A partner may make 3 calls at once and then 1 per 1,000 s: the 4th call is refused
	// however fast or slow the test runs (the bucket refills far slower than any test).
	h := newHarnessWith(t, harnessOptions{limits: auth.Limits{
		auth.RolePartner:    {Rate: 0.001, Burst: 3},
		auth.RoleCheckpoint: {Rate: 0.001, Burst: 50},
	}})
	tk := h.client(tokTokhaiyte)
	now := h.clock.Now()
	for i := range 3 {
		submit(t, tk, decl("tokhaiyte", "TK-"+string(rune('a'+i)), an, now.Add(-time.Hour)))
	}
	_, err := tk.ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{Declarations: []*lienthongv1.Declaration{decl("tokhaiyte", "TK-x", an, now)}})
	wantCode(t, err, codes.ResourceExhausted)
	var retry *errdetails.RetryInfo
	for _, d := range status.Convert(err).Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("no RetryInfo with a positive delay in %v", status.Convert(err).Details())
	}
	// Limits are per principal: the checkpoint's lookups and another partner go on.
	for range 10 {
		if st := lookup(t, h, chipCardQR(an)).GetStatus(); st != lienthongv1.Status_STATUS_CLEAR {
			t.Fatalf("checkpoint lookup during the partner's limit: %v", st)
		}
	}
	submit(t, h.client(tokNCOVI), decl("ncovi", "NC-1", an, now.Add(-time.Hour)))
}

func TestHealthAndReflection(t *testing.T) {
	h := newHarness(t)
	cc := h.conn("")
	hr, err := healthpb.NewHealthClient(cc).Check(ctx(t), &healthpb.HealthCheckRequest{})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", hr, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"lienthong.v1.IngestService", "lienthong.v1.CheckpointService", "lienthong.v1.AuditService", "lienthong.v1.KeysService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
	stream.CloseSend()
}

// TestNoPersonalDataInLogs runs calls that succeed, fail and are refused with a debug-level
// JSON logger and checks that no name, document number or phone of the test people is in it.
func TestNoPersonalDataInLogs(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarnessWith(t, harnessOptions{logger: log, limits: auth.Limits{auth.RolePartner: {Rate: 0.001, Burst: 6}}})
	now := h.clock.Now()
	tk, nc := h.client(tokTokhaiyte), h.client(tokNCOVI)
	bad := decl("tokhaiyte", "TK-bad", binh, now)
	bad.Person.BirthDate.Year = 1996
	bad.Person.Phone = "0903111222x"
	submit(t, tk, decl("tokhaiyte", "TK-an", an, now.Add(-time.Hour)), bad, decl("tokhaiyte", "TK-cuong", cuong, now))
	submit(t, nc, decl("ncovi", "NC-chi", chi, now, withBirthYear(1986)))
	// Refused: another platform; a payload that is no CSV but holds a person.
	_, err := tk.ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{Declarations: []*lienthongv1.Declaration{decl("ncovi", "NC-x", dung, now)}})
	wantCode(t, err, codes.PermissionDenied)
	_, err = tk.ingest.SubmitNativeRecords(ctx(t), &lienthongv1.SubmitNativeRecordsRequest{
		Format: lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, Payload: []byte(dung.name + "," + dung.doc + "," + dung.phone + "\n")})
	wantCode(t, err, codes.InvalidArgument)
	_, err = tk.ingest.SubmitNativeRecords(ctx(t), &lienthongv1.SubmitNativeRecordsRequest{Format: lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, Payload: []byte(tokhaiyteCSV)})
	if err != nil {
		t.Fatal(err)
	}
	// Lookups by every form, one malformed with the person in it, a history read.
	cp := h.client(tokCheckpoint)
	for _, q := range []string{chipCardQR(an), personal1405QR(an, "", false), chipCardQR(dung), h.qridOf(chi)} {
		lookup(t, h, q)
	}
	_, err = cp.checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: dung.doc + "|" + dung.name + "|x|9|q|" + dung.phone})
	wantCode(t, err, codes.InvalidArgument)
	if _, err := h.client(tokMinistry).audit.GetHistory(ctx(t), &lienthongv1.GetHistoryRequest{QrId: h.qridOf(an), Reason: "case 42 review"}); err != nil {
		t.Fatal(err)
	}
	// Over the partner's rate: a refusal is logged too.
	for range 3 {
		tk.ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{Declarations: []*lienthongv1.Declaration{decl("tokhaiyte", "TK-an", an, now.Add(-time.Hour))}})
	}
	eventually(t, "the lookups in the access log", func() bool { return len(accessLog(t, h, h.qridOf(an))) >= 3 })

	out := buf.String()
	if !strings.Contains(out, "grpc call") || !strings.Contains(out, "call refused") {
		t.Fatalf("the logger saw no calls; the test proves nothing:\n%s", out)
	}
	var secrets []string
	for _, p := range []person{an, binh, chi, cuong, dung} {
		secrets = append(secrets, p.name, strings.ToUpper(p.name), p.phone, "+84"+p.phone[1:])
		if p.doc != "" {
			secrets = append(secrets, p.doc)
		}
	}
	secrets = append(secrets, "NGUYEN VAN AN", "NGUYỄN VĂN AN", "LÊ VĂN CƯỜNG")
	for _, s := range secrets {
		if strings.Contains(out, s) {
			i := strings.Index(out, s)
			lo, hi := max(0, i-200), min(len(out), i+200)
			t.Errorf("log contains %q: ...%s...", s, out[lo:hi])
		}
	}
	if testing.Verbose() {
		t.Logf("%d log lines checked:\n%s", bytes.Count([]byte(out), []byte("\n")), out)
	}
}
