// Package gateway is the gRPC face of Liên thông: one NewServer that wires authentication,
// authorization, recovery, logging, tracing, message limits, health, reflection and the
// Ingest, Checkpoint, Audit and Keys services over the store.
package gateway

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/canonical/qr"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/keys"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// MaxMessageBytes bounds every request: 1,000 declarations fit with room to spare.
const MaxMessageBytes = 8 << 20

// MaxBatch is the most declarations one ingest request (or stream message) may carry.
const MaxBatch = 1000

// StreamWorkers is how many goroutines serve calls and are kept between calls. A call's
// stack (interceptors, store, allocation) is deeper than a new goroutine's first stack, and
// growing it on every call cost a fifth of a lookup's CPU; a call finding every worker busy
// still gets a goroutine of its own.
const StreamWorkers = 64

// Deps is everything the services need.
type Deps struct {
	Store    store.Store
	Pipeline *ingest.Pipeline
	Keys     *keys.Ring
	Deriver  *identity.Deriver
	Guard    *auth.Guard
	Validity time.Duration    // how long a declaration keeps a person CLEAR (default 72 h)
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger
	Meter    metric.Meter         // nil: no metrics
	Tracer   trace.TracerProvider // nil: no gRPC spans (nor their cost on every call)
	Health   *health.Server       // nil: a fresh one serving SERVING
	Access   *AccessRecorder      // nil: lookups are not logged
}

// Policy is who may call what: architecture.md "Who may do what".
func Policy() auth.Policy {
	const (
		ingestSvc     = "/lienthong.v1.IngestService/"
		checkpointSvc = "/lienthong.v1.CheckpointService/"
		auditSvc      = "/lienthong.v1.AuditService/"
		keysSvc       = "/lienthong.v1.KeysService/"
	)
	partner := []auth.Role{auth.RolePartner}
	checkpoint := []auth.Role{auth.RoleCheckpoint}
	ministry := []auth.Role{auth.RoleMinistry}
	return auth.Policy{
		Roles: map[string][]auth.Role{
			ingestSvc + "SubmitDeclarations":  partner,
			ingestSvc + "SubmitNativeRecords": partner,
			ingestSvc + "StreamDeclarations":  partner,
			ingestSvc + "GetSignedQR":         partner,
			checkpointSvc + "Lookup":          checkpoint,
			checkpointSvc + "RecordPassage":   checkpoint,
			auditSvc + "GetStatistics":        {auth.RoleMinistry, auth.RoleCheckpoint},
			auditSvc + "ListInconsistencies":  ministry,
			auditSvc + "GetHistory":           ministry,
			auditSvc + "ListAccessLog":        ministry,
			auditSvc + "ListRejections":       ministry,
			keysSvc + "RotateKey":             ministry,
		},
		Public: map[string]bool{
			keysSvc + "ListKeys":                                             true, // public keys are public
			"/grpc.health.v1.Health/Check":                                   true,
			"/grpc.health.v1.Health/Watch":                                   true,
			"/grpc.health.v1.Health/List":                                    true,
			"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
			"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
		},
	}
}

// NewServer returns a gRPC server with every service registered. opts are added last (TLS
// credentials, for instance).
func NewServer(d Deps, opts ...grpc.ServerOption) *grpc.Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Validity <= 0 {
		d.Validity = 72 * time.Hour
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Meter == nil {
		d.Meter = noop.NewMeterProvider().Meter("lienthong")
	}
	if d.Health == nil {
		d.Health = health.NewServer()
	}
	m := newMetrics(d.Meter)
	base := []grpc.ServerOption{
		grpc.NumStreamWorkers(StreamWorkers),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		// Measured before the guard, so that refused calls count; logged after it, with the
		// principal.
		grpc.ChainUnaryInterceptor(observeUnary(d.Logger, m), d.Guard.Unary(), logUnary(d.Logger)),
		grpc.ChainStreamInterceptor(observeStream(d.Logger, m), d.Guard.Stream(), logStream(d.Logger)),
	}
	if d.Tracer != nil {
		// Spans only: the call metrics are logUnary's. A stats handler makes gRPC copy every
		// call's metadata, so it is installed only when spans are exported.
		base = append(base, grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(d.Tracer), otelgrpc.WithMeterProvider(noop.NewMeterProvider()))))
	}
	s := grpc.NewServer(append(base, opts...)...)
	lienthongv1.RegisterIngestServiceServer(s, &ingestService{d: d, m: m})
	lienthongv1.RegisterCheckpointServiceServer(s, &checkpointService{d: d, m: m, verified: qr.NewVerifyCache(verifiedQRs)})
	lienthongv1.RegisterAuditServiceServer(s, &auditService{d: d})
	lienthongv1.RegisterKeysServiceServer(s, &keysService{d: d})
	healthpb.RegisterHealthServer(s, d.Health)
	reflection.Register(s)
	return s
}

// observeUnary records every call's latency by method and code, and turns a handler's panic
// into INTERNAL (logged with its stack, and measured as INTERNAL).
func observeUnary(log *slog.Logger, m *metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
			m.call(ctx, info.FullMethod, status.Code(err), time.Since(start))
		}()
		return h(ctx, req)
	}
}

// observeStream is observeUnary for streams: latency to the stream's end.
func observeStream(log *slog.Logger, m *metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
			m.call(ss.Context(), info.FullMethod, status.Code(err), time.Since(start))
		}()
		return h(srv, ss)
	}
}

// logUnary logs every admitted call's method, code, duration and principal id: never a
// request's content, so no personal data reaches the logs. (The guard logs refusals.)
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

func logStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		start := time.Now()
		err := h(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelDebug
	if code == codes.Internal || code == codes.Unknown || code == codes.DataLoss {
		level = slog.LevelError
	}
	if !log.Enabled(ctx, level) {
		return
	}
	attrs := []any{"method", method, "code", code.String(), "duration", time.Since(start)}
	if p, ok := auth.FromContext(ctx); ok {
		attrs = append(attrs, "principal", p.ID)
	}
	log.Log(ctx, level, "grpc call", attrs...)
}
