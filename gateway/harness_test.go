package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/keys"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// The tokens of the harness's principals. Only their SHA-256 is configured in the guard.
const (
	tokTokhaiyte   = "token-partner-tokhaiyte"
	tokNCOVI       = "token-partner-ncovi"
	tokBluezone    = "token-partner-bluezone"
	tokCheckpoint  = "token-checkpoint-79" // station st-79-01, province 79
	tokCheckpoint2 = "token-checkpoint-01" // station st-01-01, province 01 (Hà Nội)
	tokMinistry    = "token-ministry"
	tokBad         = "token-nobody-configured"
)

const (
	station79 = "st-79-01"
	station01 = "st-01-01"
)

// identitySecret is the fixed 32-byte identity secret: QR ids are stable across runs.
var identitySecret = []byte("lienthong-test-identity-secret!!")

// t0 is the harness clock's start: Friday 27 November 2026, 10:00 in Hồ Chí Minh City.
var t0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

// clock is an injected, settable clock shared by the gateway, the pipeline and the key ring.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harnessOptions change the harness's defaults.
type harnessOptions struct {
	limits auth.Limits  // nil: unlimited
	logger *slog.Logger // nil: discard
	// wrap, when set, wraps the real store the services use (to make it fail).
	wrap  func(store.Store) store.Store
	meter metric.Meter // nil: no metrics
	// extraCreds are added to the harness's principals; serverOpts to NewServer (TLS).
	extraCreds []auth.Credential
	serverOpts []grpc.ServerOption
}

// harness is a real gateway on a loopback listener over a real bbolt file.
type harness struct {
	t       *testing.T
	clock   *clock
	store   *boltstore.Store
	deriver *identity.Deriver
	ring    *keys.Ring
	access  *gateway.AccessRecorder
	addr    string
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, harnessOptions{}) }

func newHarnessWith(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	log := o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := &clock{now: t0}
	st, err := boltstore.Open(t.TempDir()+"/lienthong.db", boltstore.Options{Now: clk.Now, NoSync: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deriver, err := identity.NewDeriver(identitySecret)
	if err != nil {
		t.Fatal(err)
	}
	ring := keys.NewMemoryRing(keys.Options{Validity: 72 * time.Hour, Now: clk.Now})
	var served store.Store = st
	if o.wrap != nil {
		served = o.wrap(st)
	}
	pipe := ingest.New(ingest.Config{Store: served, Deriver: deriver, Issuer: ring, Now: clk.Now, Logger: log})
	authn, err := auth.NewAuthenticator(append([]auth.Credential{
		{Principal: auth.Principal{ID: "partner-tokhaiyte", Role: auth.RolePartner, Platform: "tokhaiyte"}, TokenSHA256: auth.HashToken(tokTokhaiyte)},
		{Principal: auth.Principal{ID: "partner-ncovi", Role: auth.RolePartner, Platform: "ncovi"}, TokenSHA256: auth.HashToken(tokNCOVI)},
		{Principal: auth.Principal{ID: "partner-bluezone", Role: auth.RolePartner, Platform: "bluezone"}, TokenSHA256: auth.HashToken(tokBluezone)},
		{Principal: auth.Principal{ID: "checkpoint-79", Role: auth.RoleCheckpoint, Station: station79, Area: auth.Area{Province: "79"}}, TokenSHA256: auth.HashToken(tokCheckpoint)},
		{Principal: auth.Principal{ID: "checkpoint-01", Role: auth.RoleCheckpoint, Station: station01, Area: auth.Area{Province: "01"}}, TokenSHA256: auth.HashToken(tokCheckpoint2)},
		{Principal: auth.Principal{ID: "ministry-health", Role: auth.RoleMinistry}, TokenSHA256: auth.HashToken(tokMinistry)},
	}, o.extraCreds...))
	if err != nil {
		t.Fatal(err)
	}
	access := gateway.NewAccessRecorder(st, 1024, log)
	srv := gateway.NewServer(gateway.Deps{
		Store: served, Pipeline: pipe, Keys: ring, Deriver: deriver,
		Guard:  auth.NewGuard(authn, gateway.Policy(), o.limits, log),
		Now:    clk.Now,
		Logger: log,
		Access: access,
		Meter:  o.meter,
	}, o.serverOpts...)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-serveErr; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := access.Close(ctx); err != nil {
			t.Errorf("access recorder close: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	return &harness{t: t, clock: clk, store: st, deriver: deriver, ring: ring, access: access, addr: lis.Addr().String()}
}

// bearer sends a bearer token with every call (over plain loopback: tests only).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// conn opens a client connection that sends token with every call ("" sends none).
func (h *harness) conn(token string) *grpc.ClientConn {
	h.t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	cc, err := grpc.NewClient(h.addr, opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { cc.Close() })
	return cc
}

// client is every service's client for one caller.
type client struct {
	conn       *grpc.ClientConn
	ingest     lienthongv1.IngestServiceClient
	checkpoint lienthongv1.CheckpointServiceClient
	audit      lienthongv1.AuditServiceClient
	keys       lienthongv1.KeysServiceClient
}

func (h *harness) client(token string) client {
	cc := h.conn(token)
	return client{
		conn:       cc,
		ingest:     lienthongv1.NewIngestServiceClient(cc),
		checkpoint: lienthongv1.NewCheckpointServiceClient(cc),
		audit:      lienthongv1.NewAuditServiceClient(cc),
		keys:       lienthongv1.NewKeysServiceClient(cc),
	}
}

// ctx is a call context bounded so that a hung call fails the test instead of hanging it.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// person is a test person: what a partner sends about them.
type person struct {
	name     string
	docType  lienthongv1.DocumentType
	doc      string
	year     int32
	month    int32 // 0: year only
	day      int32
	gender   lienthongv1.Gender
	phone    string
	province string
}

// The test people. Their names, numbers and phones must never appear in a log.
var (
	// An has a CCCD (province 079, male, born 1990) and declares on two platforms.
	an = person{name: "Nguyễn Văn An", docType: lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, doc: "079090001234",
		year: 1990, month: 5, day: 17, gender: lienthongv1.Gender_GENDER_MALE, phone: "0912345678", province: "79"}
	// Binh has a CCCD (province 001, female, born 1995).
	binh = person{name: "Trần Thị Bình", docType: lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, doc: "001195012345",
		year: 1995, month: 3, day: 2, gender: lienthongv1.Gender_GENDER_FEMALE, phone: "0903111222", province: "01"}
	// Chi has a CMND (no birth year inside), so two platforms may disagree on her birth year
	// and both be accepted.
	chi = person{name: "Phạm Thị Chi", docType: lienthongv1.DocumentType_DOCUMENT_TYPE_CMND, doc: "023456789",
		year: 1985, gender: lienthongv1.Gender_GENDER_FEMALE, phone: "0977333444", province: "79"}
	// Cuong has no document: the weak key of phone, name and birth year.
	cuong = person{name: "Lê Văn Cường", year: 1980, gender: lienthongv1.Gender_GENDER_MALE, phone: "0987654321", province: "79"}
	// Dung's CCCD is never declared anywhere.
	dung = person{name: "Hoàng Văn Dũng", docType: lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, doc: "079088009999",
		year: 1988, month: 1, day: 9, gender: lienthongv1.Gender_GENDER_MALE, phone: "0911000111", province: "79"}
)

func (p person) pb() *lienthongv1.Person {
	bd := &lienthongv1.BirthDate{Year: p.year, Precision: lienthongv1.DatePrecision_DATE_PRECISION_YEAR}
	if p.month != 0 {
		bd = &lienthongv1.BirthDate{Year: p.year, Month: p.month, Day: p.day, Precision: lienthongv1.DatePrecision_DATE_PRECISION_DAY}
	}
	m := &lienthongv1.Person{FullName: p.name, BirthDate: bd, Gender: p.gender, Nationality: "VN", Phone: p.phone}
	if p.doc != "" {
		m.Document = &lienthongv1.Document{Type: p.docType, Number: p.doc}
	}
	return m
}

// decl builds a declaration in the common form, declared at `at`.
func decl(platform, recordID string, p person, at time.Time, opts ...func(*lienthongv1.Declaration)) *lienthongv1.Declaration {
	d := &lienthongv1.Declaration{
		Source:     &lienthongv1.Source{Platform: platform, RecordId: recordID, Version: at.UTC().Format(time.RFC3339)},
		Person:     p.pb(),
		Address:    &lienthongv1.Address{ProvinceCode: p.province, CodeSet: lienthongv1.CodeSet_CODE_SET_2021, Street: "12 Lê Lợi"},
		Health:     &lienthongv1.Health{Form: lienthongv1.SymptomForm_SYMPTOM_FORM_CHECKLIST},
		DeclaredAt: timestamppb.New(at),
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

func withSymptoms(s ...string) func(*lienthongv1.Declaration) {
	return func(d *lienthongv1.Declaration) { d.Health.Symptoms = s }
}

func withExposures(e ...string) func(*lienthongv1.Declaration) {
	return func(d *lienthongv1.Declaration) { d.Health.Exposures = e }
}

func withBirthYear(y int32) func(*lienthongv1.Declaration) {
	return func(d *lienthongv1.Declaration) {
		d.Person.BirthDate = &lienthongv1.BirthDate{Year: y, Precision: lienthongv1.DatePrecision_DATE_PRECISION_YEAR}
	}
}

// submit submits decls with c and fails the test on a call error.
func submit(t *testing.T, c client, decls ...*lienthongv1.Declaration) *lienthongv1.SubmitDeclarationsResponse {
	t.Helper()
	resp, err := c.ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{Declarations: decls})
	if err != nil {
		t.Fatalf("SubmitDeclarations: %v", err)
	}
	return resp
}

// accepted submits one declaration, requires it accepted, and returns its result.
func accepted(t *testing.T, c client, d *lienthongv1.Declaration) *lienthongv1.ItemResult {
	t.Helper()
	r := submit(t, c, d).GetResults()[0]
	if r.GetOutcome() != lienthongv1.Outcome_OUTCOME_ACCEPTED {
		t.Fatalf("record %s: outcome %v, violations %v", d.GetSource().GetRecordId(), r.GetOutcome(), r.GetViolations())
	}
	return r
}

// wantCode fails the test unless err has code want.
func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code %v (%v), want %v", got, err, want)
	}
}

// fieldViolations returns the BadRequest field violations of err as "field:reason".
func fieldViolations(err error) []string {
	var out []string
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField()+":"+v.GetReason())
			}
		}
	}
	return out
}

// violationDescription returns the first field violation's description of err.
func violationDescription(err error) string {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetDescription()
		}
	}
	return ""
}

// wantViolation fails the test unless err is InvalidArgument with the field violation.
func wantViolation(t *testing.T, err error, field, reason string) {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument)
	vs := fieldViolations(err)
	for _, v := range vs {
		if v == field+":"+reason {
			return
		}
	}
	t.Fatalf("violations %v, want %s:%s", vs, field, reason)
}

// violationStrings returns an item's violations as "field:reason".
func violationStrings(vs []*lienthongv1.Violation) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.GetField() + ":" + v.GetReason()
	}
	return strings.Join(out, ",")
}

// eventually polls cond until it holds or the deadline passes (for the asynchronous access
// recorder); it never sleeps a fixed time to wait for something to happen.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
