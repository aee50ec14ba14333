package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/rpcstatus"
)

// Policy says which roles may call each gRPC method (full method name). Methods in Public need
// no principal (health, reflection); a method in neither is refused to everyone.
type Policy struct {
	Roles  map[string][]Role
	Public map[string]bool
}

// Limits is the sustained rate and burst each role's principals get (per principal).
type Limits map[Role]Limit

// Limit is a token bucket: Rate calls per second, Burst at once. A zero Rate means unlimited.
type Limit struct {
	Rate  float64
	Burst int
}

// Guard authenticates, authorizes and rate-limits every call.
type Guard struct {
	authn  *Authenticator
	policy Policy
	limits Limits
	log    *slog.Logger

	limiters sync.Map // principal id → *rate.Limiter; read on every call, written once per principal
}

// NewGuard returns a guard over authn with policy and per-role limits. Refused calls are
// logged on log (method and reason; never a credential); log may be nil.
func NewGuard(authn *Authenticator, policy Policy, limits Limits, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Guard{authn: authn, policy: policy, limits: limits, log: log}
}

// Unary is the guard as a unary server interceptor.
func (g *Guard) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := g.admit(ctx, info.FullMethod)
		if err != nil {
			return nil, g.refuse(ctx, info.FullMethod, err)
		}
		return h(ctx, req)
	}
}

// Stream is the guard as a stream server interceptor.
func (g *Guard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := g.admit(ss.Context(), info.FullMethod)
		if err != nil {
			return g.refuse(ctx, info.FullMethod, err)
		}
		return h(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

// refuse logs a refused call and returns its status.
func (g *Guard) refuse(ctx context.Context, method string, err error) error {
	attrs := []any{"method", method, "kind", errs.KindOf(err).String()}
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		attrs = append(attrs, "peer", pr.Addr.String())
	}
	g.log.WarnContext(ctx, "call refused", attrs...)
	return rpcstatus.FromError(err)
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// admit returns ctx with the caller's principal, or the error that refuses the call.
func (g *Guard) admit(ctx context.Context, method string) (context.Context, error) {
	const op = "auth"
	if g.policy.Public[method] {
		return ctx, nil
	}
	p := g.authenticate(ctx)
	if p == nil {
		return ctx, errs.Errorf(errs.Unauthenticated, op, "a valid bearer token or client certificate is required")
	}
	if !g.allowed(method, p.Role) {
		return ctx, errs.Errorf(errs.Permission, op, "role %s may not call %s", p.Role, method)
	}
	// Allow takes a token without allocating; only a refused call reserves one, to learn
	// when to come back, and gives it back.
	if lim := g.limiter(p); lim != nil && !lim.Allow() {
		delay := time.Second
		if r := lim.Reserve(); r.OK() {
			delay = r.Delay()
			r.Cancel()
		}
		return ctx, errs.E(errs.Exhausted, op, &rpcstatus.RetryAfter{After: delay, Err: fmt.Errorf("rate limit of principal %s exceeded", p.ID)})
	}
	return withPrincipal(ctx, p), nil
}

func (g *Guard) allowed(method string, role Role) bool {
	for _, r := range g.policy.Roles[method] {
		if r == role {
			return true
		}
	}
	return false
}

// authenticate reads the bearer token from the metadata, or the verified client certificate.
func (g *Guard) authenticate(ctx context.Context) *Principal {
	// ValueFromIncomingContext reads the one key without copying the whole metadata.
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		// The scheme is case-insensitive (RFC 9110 §11.1).
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return g.authn.byToken(strings.TrimSpace(v[7:]))
		}
	}
	if pr, ok := peer.FromContext(ctx); ok {
		if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			leaf := ti.State.VerifiedChains[0][0]
			return g.authn.byCN[leaf.Subject.CommonName]
		}
	}
	return nil
}

func (g *Guard) limiter(p *Principal) *rate.Limiter {
	l, ok := g.limits[p.Role]
	if !ok || l.Rate <= 0 {
		return nil
	}
	if lim, ok := g.limiters.Load(p.ID); ok {
		return lim.(*rate.Limiter)
	}
	burst := max(1, l.Burst)
	lim, _ := g.limiters.LoadOrStore(p.ID, rate.NewLimiter(rate.Limit(l.Rate), burst))
	return lim.(*rate.Limiter)
}
