package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/keys"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// These benchmarks run the gateway in-process, on loopback, over a bbolt file opened as
// `lienthong serve` opens it (fsync on), so `go test -bench . -cpuprofile` shows where lookup
// and ingest time goes; test/load measures the same through the real binary. Compare
// BenchmarkLookup with BenchmarkEcho (a bare gRPC server on the same machine) as a ratio.

// benchGateway is a gateway over a bbolt file with a simulated population ingested.
type benchGateway struct {
	addr     string
	qrids    []string
	pipeline *ingest.Pipeline
}

func newBenchGateway(b *testing.B, declarations int) *benchGateway {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	now := func() time.Time { return t0 }
	st, err := boltstore.Open(b.TempDir()+"/lienthong.db", boltstore.Options{Now: now, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	deriver, err := identity.NewDeriver(identitySecret)
	if err != nil {
		b.Fatal(err)
	}
	ring := keys.NewMemoryRing(keys.Options{Validity: 72 * time.Hour, Now: now})
	pipe := ingest.New(ingest.Config{Store: st, Deriver: deriver, Issuer: ring, Now: now, Logger: log})
	authn, err := auth.NewAuthenticator([]auth.Credential{
		{Principal: auth.Principal{ID: "partner-bluezone", Role: auth.RolePartner, Platform: "bluezone"}, TokenSHA256: auth.HashToken(tokBluezone)},
		{Principal: auth.Principal{ID: "checkpoint-79", Role: auth.RoleCheckpoint, Station: station79, Area: auth.Area{Province: "79"}}, TokenSHA256: auth.HashToken(tokCheckpoint)},
	})
	if err != nil {
		b.Fatal(err)
	}
	access := gateway.NewAccessRecorder(st, 65536, log)
	srv := gateway.NewServer(gateway.Deps{
		Store: st, Pipeline: pipe, Keys: ring, Deriver: deriver,
		Guard: auth.NewGuard(authn, gateway.Policy(), nil, log), Now: now, Logger: log, Access: access,
	})
	g := &benchGateway{pipeline: pipe}
	pop := sim.Generate(sim.Config{Seed: 7, Declarations: declarations, Epoch: t0})
	seen := map[string]bool{}
	for start := 0; start < len(pop.Records); start += 1000 {
		var batch []canonical.Declaration
		for _, r := range pop.Records[start:min(len(pop.Records), start+1000)] {
			batch = append(batch, r.Typed)
		}
		rs, err := pipe.Ingest(context.Background(), batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if r.QRID != "" && !seen[r.QRID] {
				seen[r.QRID] = true
				g.qrids = append(g.qrids, r.QRID)
			}
		}
	}
	g.addr = serve(b, srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = access.Close(ctx)
		_ = st.Close()
	})
	return g
}

// serve serves srv on a loopback port until the benchmark ends.
func serve(b *testing.B, srv *grpc.Server) string {
	b.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	b.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			b.Errorf("serve: %v", err)
		}
	})
	return lis.Addr().String()
}

// benchConns dials n connections sending token.
func benchConns(b *testing.B, addr, token string, n int) []*grpc.ClientConn {
	b.Helper()
	var ccs []*grpc.ClientConn
	for i := 0; i < n; i++ {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cc.Close() })
		ccs = append(ccs, cc)
	}
	return ccs
}

// benchWorkers is the closed-loop concurrency of test/load (50 workers on 2 cores).
const benchWorkers = 50

// BenchmarkLookup measures Lookup of bare QR ids of a 24,000-declaration population, 50
// concurrent callers over 4 connections.
func BenchmarkLookup(b *testing.B) {
	g := newBenchGateway(b, 24000)
	ccs := benchConns(b, g.addr, tokCheckpoint, 4)
	var next atomic.Uint64
	b.SetParallelism(max(1, benchWorkers/max(1, testingProcs())))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := next.Add(1)
		c := lienthongv1.NewCheckpointServiceClient(ccs[w%uint64(len(ccs))])
		rng := rand.New(rand.NewPCG(w, 1))
		for pb.Next() {
			if _, err := c.Lookup(context.Background(), &lienthongv1.LookupRequest{Qr: g.qrids[rng.IntN(len(g.qrids))]}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkEcho is BenchmarkLookup's baseline: the same callers against a bare gRPC health
// server in the same process.
func BenchmarkEcho(b *testing.B) {
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ccs := benchConns(b, serve(b, srv), tokCheckpoint, 4)
	var next atomic.Uint64
	b.SetParallelism(max(1, benchWorkers/max(1, testingProcs())))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := next.Add(1)
		c := healthpb.NewHealthClient(ccs[w%uint64(len(ccs))])
		for pb.Next() {
			if _, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkStreamIngest measures StreamDeclarations: one op is a stream of 10 batches of
// 1,000 new canonical declarations (record ids renamed per op), on a store already holding a
// 24,000-declaration population.
func BenchmarkStreamIngest(b *testing.B) {
	g := newBenchGateway(b, 24000)
	cc := benchConns(b, g.addr, tokBluezone, 1)[0]
	c := lienthongv1.NewIngestServiceClient(cc)
	pop := sim.Generate(sim.Config{Seed: 8, Declarations: 30000, Epoch: t0})
	var bz []canonical.Declaration
	for _, r := range pop.Records {
		if r.Platform == canonical.PlatformBluezone && r.Fault == "" {
			bz = append(bz, r.Typed)
		}
	}
	if len(bz) < 10000 {
		b.Fatalf("only %d Bluezone declarations", len(bz))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var batches []*lienthongv1.StreamDeclarationsRequest
		for k := 0; k < 10; k++ {
			msg := &lienthongv1.StreamDeclarationsRequest{}
			for _, d := range bz[k*1000 : (k+1)*1000] {
				d.Source.RecordID = fmt.Sprintf("op%d-%s", i, d.Source.RecordID)
				msg.Declarations = append(msg.Declarations, benchDeclarationPB(d))
			}
			batches = append(batches, msg)
		}
		b.StartTimer()
		cs, err := c.StreamDeclarations(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range batches {
			if err := cs.Send(m); err != nil {
				break
			}
		}
		resp, err := cs.CloseAndRecv()
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetAcceptedCount() == 0 {
			b.Fatalf("nothing accepted: %d rejected", resp.GetRejectedCount())
		}
	}
	b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "declarations/s")
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }

// benchDeclarationPB writes a canonical declaration as a partner client would (the gateway's
// own mapping is unexported).
func benchDeclarationPB(d canonical.Declaration) *lienthongv1.Declaration {
	m := &lienthongv1.Declaration{
		Source:   &lienthongv1.Source{Platform: string(d.Source.Platform), RecordId: d.Source.RecordID, Version: d.Source.Version, SubjectId: d.Source.SubjectID},
		OnBehalf: d.OnBehalf,
		Person: &lienthongv1.Person{
			FullName:    d.Person.FullName,
			BirthDate:   &lienthongv1.BirthDate{Year: int32(d.Person.BirthDate.Year), Month: int32(d.Person.BirthDate.Month), Day: int32(d.Person.BirthDate.Day), Precision: lienthongv1.DatePrecision_DATE_PRECISION_YEAR},
			Gender:      lienthongv1.Gender(d.Person.Gender),
			Nationality: d.Person.Nationality,
			Document:    &lienthongv1.Document{Type: lienthongv1.DocumentType(d.Person.Document.Type), Number: d.Person.Document.Number},
			FormerCmnd:  d.Person.FormerCMND,
			Phone:       d.Person.Phone,
			Email:       d.Person.Email,
		},
		Address: &lienthongv1.Address{Province: d.Address.Province, ProvinceCode: d.Address.ProvinceCode, District: d.Address.District, Ward: d.Address.Ward, Street: d.Address.Street},
		Health: &lienthongv1.Health{Form: lienthongv1.SymptomForm_SYMPTOM_FORM_CHECKLIST, HasSymptoms: d.Health.HasSymptoms,
			SymptomNote: d.Health.SymptomNote, Conditions: d.Health.Conditions, PlacesNote: d.Health.PlacesNote},
		DeclaredAt: timestamppb.New(d.DeclaredAt),
	}
	if d.Person.BirthDate.Precision == canonical.PrecisionDay {
		m.Person.BirthDate.Precision = lienthongv1.DatePrecision_DATE_PRECISION_DAY
	}
	for _, s := range d.Health.Symptoms {
		m.Health.Symptoms = append(m.Health.Symptoms, string(s))
	}
	for _, e := range d.Health.Exposures {
		m.Health.Exposures = append(m.Health.Exposures, string(e))
	}
	if d.Health.Form == canonical.SymptomSingleQuestion {
		m.Health.Form = lienthongv1.SymptomForm_SYMPTOM_FORM_SINGLE_QUESTION
	}
	return m
}
