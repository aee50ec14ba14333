package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/adapters/pull"
	"github.com/lienthong/lienthong/adapters/registry"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
	"github.com/lienthong/lienthong/gateway/httpapi"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/keys"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
	"github.com/lienthong/lienthong/gateway/store/instrumented"
	"github.com/lienthong/lienthong/gateway/store/redisstore"
)

// EmbeddedStoreFile is the embedded store's file inside the data folder.
const EmbeddedStoreFile = "lienthong.db"

func runServe(args []string, stdout, stderr io.Writer) int {
	cfg, code := loadConfig("serve", args, stderr, `Run the gateway: gRPC on --grpc-addr (Ingest, Checkpoint, Audit, Keys, health,
reflection) and HTTP on --http-addr (Bluezone webhook, /metrics, /healthz, /readyz, /keys).
Settings come from defaults, then --config FILE (JSON), then LIENTHONG_* variables, then flags.
With no configuration it runs on the embedded store in ./data and creates its keys there.

Example:
  lienthong serve --data-dir /var/lib/lienthong --config /etc/lienthong/lienthong.json`)
	if code >= 0 {
		return code
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gw, err := startGateway(ctx, cfg, log)
	if err != nil {
		log.Error("gateway did not start", "err", err)
		return exitFail
	}
	log.Info("gateway serving", "grpc", gw.GRPCAddr, "http", gw.HTTPAddr, "store", gw.StoreKind)
	<-ctx.Done()
	log.Info("shutting down: finishing in-flight calls and pull batches")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := gw.Shutdown(sctx); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return exitFail
	}
	log.Info("stopped")
	return exitOK
}

// loadConfig builds the configuration from defaults, --config, the environment and flags.
// It returns code -1 when the caller should go on, else the exit code.
func loadConfig(name string, args []string, stderr io.Writer, usage string) (config.Config, int) {
	cfg := config.Default()
	// Help never fails because of the file or the environment: it shows the defaults.
	if !wantsHelp(args) {
		path := configPath(args)
		if path == "" {
			path = os.Getenv("LIENTHONG_CONFIG")
		}
		if path != "" {
			if err := cfg.LoadFile(path); err != nil {
				fmt.Fprintf(stderr, "lienthong %s: %v\n", name, err)
				return cfg, exitUsage
			}
		}
		if err := cfg.ApplyEnv(os.LookupEnv); err != nil {
			fmt.Fprintf(stderr, "lienthong %s: %v\n", name, err)
			return cfg, exitUsage
		}
	}
	fs := flag.NewFlagSet("lienthong "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", "", "JSON configuration file (env LIENTHONG_CONFIG); flags and env override it")
	cfg.Flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lienthong %s [flags]\n\n%s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, exitOK
		}
		return cfg, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lienthong %s: unexpected argument %q\n", name, fs.Arg(0))
		return cfg, exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "lienthong %s: %v\n", name, err)
		return cfg, exitUsage
	}
	return cfg, -1
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

// configPath finds --config's value before the flags are parsed (the file comes first).
func configPath(args []string) string {
	for i, a := range args {
		for _, p := range []string{"--config", "-config"} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v
			}
		}
	}
	return ""
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runningGateway is a started gateway: its servers, store and background work.
type runningGateway struct {
	GRPCAddr, HTTPAddr string
	StoreKind          string
	Store              store.Store
	Deriver            *identity.Deriver
	Keys               *keys.Ring
	Pipeline           *ingest.Pipeline
	Runners            []*pull.Runner

	log       *slog.Logger
	grpc      *grpc.Server
	http      *http.Server
	debug     *http.Server // the profiler; nil when debug_addr is empty
	health    *health.Server
	access    *gateway.AccessRecorder
	telemetry *telemetry
	stopBG    context.CancelFunc
	bgDone    chan struct{}
}

// startGateway wires every component from cfg, explicitly, and starts serving. observers are
// told every ingested item besides the metrics (the demo's progress display).
func startGateway(ctx context.Context, cfg config.Config, log *slog.Logger, observers ...ingest.Observer) (*runningGateway, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, errs.E(errs.Invalid, "serve", fmt.Errorf("data folder: %w", err))
	}
	secret, created, err := keys.LoadIdentitySecret(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("GENERATED A NEW IDENTITY SECRET: QR ids depend on it; back it up, and give every replica the same file",
			"path", filepath.Join(cfg.DataDir, keys.IdentitySecretFile))
	}
	ring, created, err := keys.OpenRing(cfg.DataDir, keys.Options{Validity: cfg.QRValidity.Duration})
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("GENERATED A NEW QR SIGNING KEY: checkpoints verify QRs with its public half (GET /keys)",
			"path", filepath.Join(cfg.DataDir, keys.SigningKeysFile))
	}
	deriver, err := identity.NewDeriver(secret)
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(ctx)
	if err != nil {
		return nil, err
	}
	m := tel.Meter
	raw, kind, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st := instrumented.Wrap(raw, kind, tel.Spans(), m)
	gw := &runningGateway{StoreKind: kind, Store: st, Deriver: deriver, Keys: ring, log: log, health: health.NewServer(), bgDone: make(chan struct{}), telemetry: tel}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()
	// A replica with another identity secret would file citizens under other QR ids.
	if err := keys.ClaimIdentitySecret(ctx, raw, secret); err != nil {
		return nil, err
	}

	var register ingest.Register
	if cfg.Registry.Enabled {
		onUnavailable := registry.PolicyFlag
		if cfg.Registry.OnUnavailable == "reject" {
			onUnavailable = registry.PolicyReject
		}
		chk, err := registry.New(registry.Config{BaseURL: cfg.Registry.BaseURL, CacheTTL: cfg.Registry.CacheTTL.Duration, OnUnavailable: onUnavailable}, &http.Client{})
		if err != nil {
			return nil, err
		}
		register = chk
	}
	gw.Pipeline = ingest.New(ingest.Config{
		Store: st, Deriver: deriver, Register: register, Issuer: ring, Logger: log,
		Observe: fanOut(append(observers, ingestObserver(m))),
	})
	gw.access = gateway.NewAccessRecorder(st, 65536, log)

	authn, err := auth.NewAuthenticator(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	if len(cfg.Credentials) == 0 {
		log.Warn("no credentials configured: every gRPC call except health, reflection and ListKeys is refused; see `lienthong token create`")
	}
	limits := auth.Limits{}
	for role, l := range cfg.Limits {
		limits[role] = auth.Limit{Rate: l.Rate, Burst: l.Burst}
	}
	var serverOpts []grpc.ServerOption
	if cfg.TLS.Cert != "" {
		creds, err := serverTLS(cfg.TLS)
		if err != nil {
			return nil, err
		}
		serverOpts = append(serverOpts, grpc.Creds(creds))
	}
	gw.grpc = gateway.NewServer(gateway.Deps{
		Store: st, Pipeline: gw.Pipeline, Keys: ring, Deriver: deriver,
		Guard:    auth.NewGuard(authn, gateway.Policy(), limits, log),
		Validity: cfg.QRValidity.Duration, Logger: log, Meter: m, Tracer: gw.telemetry.Spans(),
		Health: gw.health, Access: gw.access,
	}, serverOpts...)

	// Pull partners, each under its own runner, breaker and lease.
	var sources []adapters.Source
	if cfg.NCOVI.Enabled {
		src, err := ncovi.New(ncovi.Config{BaseURL: cfg.NCOVI.BaseURL, Token: cfg.NCOVI.Token, PageSize: cfg.NCOVI.PageSize, Timeout: cfg.NCOVI.Timeout.Duration}, &http.Client{})
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	if cfg.Tokhaiyte.Enabled {
		src, err := tokhaiyte.New(tokhaiyte.Config{
			BaseURL: cfg.Tokhaiyte.BaseURL, APIKey: cfg.Tokhaiyte.APIKey, Window: cfg.Tokhaiyte.Window.Duration,
			Overlap: cfg.Tokhaiyte.Overlap.Duration, Start: time.Now().Add(-cfg.Tokhaiyte.Since.Duration),
			Timeout: cfg.Tokhaiyte.Timeout.Duration,
		}, &http.Client{})
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	state := pull.FromStore[store.Lease](st, func(l store.Lease) uint64 { return l.Token })
	for _, src := range sources {
		interval := cfg.NCOVI.Interval.Duration
		if src.Name() == canonical.PlatformTokhaiyte {
			interval = cfg.Tokhaiyte.Interval.Duration
		}
		r, err := pull.New(pull.Config{Holder: cfg.ReplicaID, PollInterval: interval, Logger: log, Observer: pullObserver(m)},
			traceSource(src, tel.Tracer), traceSink(gw.Pipeline.Unsigned(), src.Name(), tel.Tracer), state)
		if err != nil {
			return nil, err
		}
		gw.Runners = append(gw.Runners, r)
	}

	var bz http.Handler
	if cfg.Bluezone.Enabled {
		if bz, err = bluezone.NewHandler(bluezone.Config{Secret: []byte(cfg.Bluezone.Secret), Logger: log}, gw.Pipeline); err != nil {
			return nil, err
		}
	}
	checks := []httpapi.Check{{Name: "store:" + kind, Ready: st.Ping}}
	for _, r := range gw.Runners {
		checks = append(checks, httpapi.Check{
			Name: "pull:" + r.Status().Partner,
			// A partner being down does not make the gateway unready; its details say so.
			Ready:  func(context.Context) error { return nil },
			Detail: func() any { return runnerDetail(r.Status()) },
		})
	}
	gw.http = &http.Server{
		Handler:           httpapi.New(httpapi.Config{Bluezone: bz, Metrics: gw.telemetry.Metrics, Keys: ring, Checks: checks}),
		ReadHeaderTimeout: 10 * time.Second,
	}

	gl, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, errs.E(errs.Invalid, "serve", fmt.Errorf("grpc_addr: %w", err))
	}
	hl, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		gl.Close()
		return nil, errs.E(errs.Invalid, "serve", fmt.Errorf("http_addr: %w", err))
	}
	gw.GRPCAddr, gw.HTTPAddr = gl.Addr().String(), hl.Addr().String()
	go func() {
		if err := gw.grpc.Serve(gl); err != nil {
			log.Error("grpc server stopped", "err", err)
		}
	}()
	go func() {
		if err := gw.http.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	if cfg.DebugAddr != "" {
		if err := gw.serveProfiler(cfg.DebugAddr); err != nil {
			gl.Close()
			hl.Close()
			return nil, err
		}
	}
	bg, stopBG := context.WithCancel(context.Background())
	gw.stopBG = stopBG
	for _, r := range gw.Runners {
		if err := r.Start(bg); err != nil {
			stopBG()
			return nil, err
		}
	}
	go gw.retention(bg, cfg.RetentionDays)
	gw.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	ok = true
	return gw, nil
}

func openStore(ctx context.Context, cfg config.Config) (store.Store, string, error) {
	if cfg.Redis == "" {
		st, err := boltstore.Open(filepath.Join(cfg.DataDir, EmbeddedStoreFile), boltstore.Options{Timeout: 5 * time.Second, NoViewCache: !cfg.ViewCache})
		return st, "embedded", err
	}
	opts, err := redisstore.ParseTarget(cfg.Redis)
	if err != nil {
		return nil, "", err
	}
	st, err := redisstore.Open(ctx, opts)
	return st, "redis", err
}

// retention purges declarations older than days, hourly (every replica may: purging is idempotent).
func (gw *runningGateway) retention(ctx context.Context, days int) {
	defer close(gw.bgDone)
	if days <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		cutoff := time.Now().AddDate(0, 0, -days)
		if n, err := gw.Store.Purge(ctx, cutoff); err != nil {
			gw.log.Warn("retention purge failed", "err", err)
		} else if n > 0 {
			gw.log.Info("retention purge", "deleted", n, "cutoff", cutoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown stops taking calls, finishes in-flight ones and pull batches (until ctx ends),
// flushes the access log and closes the store. It is safe to call twice.
func (gw *runningGateway) Shutdown(ctx context.Context) error {
	var errList []error
	gw.health.Shutdown()
	done := make(chan struct{})
	go func() { gw.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		gw.grpc.Stop()
	}
	if err := gw.http.Shutdown(ctx); err != nil {
		errList = append(errList, err)
	}
	if gw.debug != nil {
		_ = gw.debug.Close() // profiles in progress are cut short
	}
	for _, r := range gw.Runners {
		if err := r.Shutdown(ctx); err != nil {
			errList = append(errList, err)
		}
	}
	if gw.stopBG != nil {
		gw.stopBG()
		select {
		case <-gw.bgDone:
		case <-ctx.Done():
		}
	}
	if err := gw.access.Close(ctx); err != nil {
		errList = append(errList, err)
	}
	gw.telemetry.Shutdown(ctx)
	if err := gw.Store.Close(); err != nil {
		errList = append(errList, err)
	}
	return errors.Join(errList...)
}

// serveProfiler serves the Go profiler (net/http/pprof) on addr, apart from the public HTTP
// address, so that where the time goes can be measured on the running gateway.
func (gw *runningGateway) serveProfiler(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return errs.E(errs.Invalid, "serve", fmt.Errorf("debug_addr: %w", err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	gw.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	gw.log.Info("profiler serving", "debug", l.Addr().String())
	go func() {
		if err := gw.debug.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			gw.log.Error("profiler stopped", "err", err)
		}
	}()
	return nil
}

func serverTLS(c config.TLS) (credentials.TransportCredentials, error) {
	cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, errs.E(errs.Invalid, "serve", fmt.Errorf("tls: %w", err))
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCA != "" {
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, errs.E(errs.Invalid, "serve", fmt.Errorf("tls client_ca: %w", err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errs.Errorf(errs.Invalid, "serve", "tls client_ca %s holds no PEM certificate", c.ClientCA)
		}
		tc.ClientCAs = pool
		// A client may still use a bearer token; a certificate, when given, must verify.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return credentials.NewTLS(tc), nil
}

func runnerDetail(s pull.Status) map[string]any {
	return map[string]any{
		"breaker": string(s.Breaker), "consecutive_failures": s.ConsecutiveFailures,
		"last_success": s.LastSuccess, "last_error": s.LastError, "holding_lease": s.HoldingLease, "pulled": s.Pulled,
	}
}

func ingestObserver(m metric.Meter) ingest.Observer {
	items, _ := m.Int64Counter("lienthong.ingest.items", metric.WithDescription("Declarations ingested, by platform, outcome and reason"))
	return func(src canonical.Source, r store.Result, reasons []canonical.Reason) {
		ctx := context.Background()
		p, o := src.Platform, r.Outcome
		if len(reasons) == 0 {
			items.Add(ctx, 1, metric.WithAttributes(attribute.String("platform", string(p)), attribute.String("outcome", o.String())))
			return
		}
		for _, r := range reasons {
			items.Add(ctx, 1, metric.WithAttributes(attribute.String("platform", string(p)), attribute.String("outcome", o.String()), attribute.String("reason", string(r))))
		}
	}
}

func pullObserver(m metric.Meter) pull.Observer {
	breaker, _ := m.Int64Gauge("lienthong.pull.breaker.state", metric.WithDescription("Partner circuit breaker: 0 closed, 1 half-open, 2 open"))
	failures, _ := m.Int64Gauge("lienthong.pull.consecutive_failures", metric.WithDescription("Failed fetches in a row, per partner"))
	pulled, _ := m.Int64Counter("lienthong.pull.declarations", metric.WithDescription("Declarations pulled and committed, per partner"))
	lag, _ := m.Float64Gauge("lienthong.pull.lag", metric.WithDescription("Now minus the newest declared time of the last committed page"), metric.WithUnit("s"))
	attr := func(p string) metric.MeasurementOption { return metric.WithAttributes(attribute.String("partner", p)) }
	return pull.Observer{
		BreakerChanged: func(p string, _, to pull.BreakerState) {
			level := map[pull.BreakerState]int64{pull.BreakerClosed: 0, pull.BreakerHalfOpen: 1, pull.BreakerOpen: 2}[to]
			breaker.Record(context.Background(), level, attr(p))
		},
		FetchFailed: func(p string, _ errs.Kind, n int) { failures.Record(context.Background(), int64(n), attr(p)) },
		Committed: func(p string, n int, l time.Duration) {
			failures.Record(context.Background(), 0, attr(p))
			pulled.Add(context.Background(), int64(n), attr(p))
			lag.Record(context.Background(), l.Seconds(), attr(p))
		},
	}
}

func fanOut(obs []ingest.Observer) ingest.Observer {
	return func(src canonical.Source, r store.Result, reasons []canonical.Reason) {
		for _, o := range obs {
			o(src, r, reasons)
		}
	}
}
