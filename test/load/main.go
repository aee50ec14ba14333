package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if code, ok := serveEchoIfAsked(); ok {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the harness's flags.
type options struct {
	identities, concurrency, conns, streams, nativeRows, samples, demoDeclarations, rounds int
	duration, stopGrace, diskDuration                                                      time.Duration
	out, perfDir, pprofDir, gatewayBin                                                     string
	stores                                                                                 []string
	smoke, noDemo                                                                          bool
	seed                                                                                   int64
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.identities, "identities", 1_000_000, "identities to preload (2.4 simulated declarations each)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long echo and lookups are each driven, split into --rounds")
	fs.IntVar(&o.rounds, "rounds", 4, "echo and lookups take turns this many times (a shared machine's other load then falls on both alike)")
	fs.IntVar(&o.concurrency, "concurrency", 50, "closed-loop workers for lookup, echo and redis-benchmark -c")
	fs.IntVar(&o.conns, "conns", 4, "gRPC connections in each client pool")
	fs.IntVar(&o.streams, "streams", 4, "concurrent ingest streams (and concurrent native calls)")
	fs.IntVar(&o.nativeRows, "native", 100_000, "tokhaiyte CSV rows sent through SubmitNativeRecords (1,000 per call)")
	fs.IntVar(&o.samples, "samples", 1000, "people whose signed, chip-card and 1405 QRs join the lookup mix")
	fs.IntVar(&o.demoDeclarations, "demo-declarations", 0, "declarations of `lienthong demo --once` (0: its default 96,347)")
	fs.DurationVar(&o.stopGrace, "stop-grace", 30*time.Second, "how long the gateway may take to stop after SIGTERM before it is killed")
	fs.BoolVar(&o.noDemo, "no-demo", false, "skip the demo run")
	fs.DurationVar(&o.diskDuration, "disk-duration", 5*time.Second, "how long the disk baseline writes before the embedded preload")
	stores := fs.String("stores", "embedded,redis", "stores to measure, in order")
	fs.Int64Var(&o.seed, "seed", 20211127, "seed of the simulated population")
	fs.StringVar(&o.perfDir, "perf", "", "record the gateway with Linux perf during each store's preload, lookup and native phases into this folder")
	fs.StringVar(&o.pprofDir, "pprof", "", "fetch Go CPU and allocation profiles of the gateway during each store's preload (first 10 s), lookup and native phases into this folder")
	fs.StringVar(&o.gatewayBin, "gateway-bin", "", "use this lienthong binary instead of building ./cmd/lienthong")
	fs.StringVar(&o.out, "out", "results.md", "results file (markdown)")
	fs.BoolVar(&o.smoke, "smoke", false, "a few seconds on ~2,000 identities and both stores, to check the harness runs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, p *int, v int) {
			if !set[name] {
				*p = v
			}
		}
		def("identities", &o.identities, 2000)
		def("native", &o.nativeRows, 2000)
		def("samples", &o.samples, 50)
		def("demo-declarations", &o.demoDeclarations, 2000)
		if !set["duration"] {
			o.duration = 2 * time.Second
		}
		if !set["stop-grace"] {
			o.stopGrace = 5 * time.Second
		}
		if !set["disk-duration"] {
			o.diskDuration = 200 * time.Millisecond
		}
	}
	for _, s := range strings.Split(*stores, ",") {
		if s = strings.TrimSpace(s); s != "embedded" && s != "redis" {
			return o, fmt.Errorf("--stores: %q is neither embedded nor redis", s)
		}
		o.stores = append(o.stores, strings.TrimSpace(s))
	}
	if o.identities < 10 || o.concurrency < 1 || o.conns < 1 || o.streams < 1 || o.duration <= 0 || o.rounds < 1 {
		return o, errors.New("--identities must be at least 10, and --concurrency, --conns, --streams, --duration and --rounds positive")
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "load:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	text := rep.markdown()
	if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	fmt.Fprint(stdout, text)
	return 0
}

// measure runs every phase and returns the report.
func measure(ctx context.Context, o options, log io.Writer) (*report, error) {
	rep := &report{opts: o, started: time.Now().UTC(), loadBefore: loadAvg()}
	dir, err := os.MkdirTemp("", "lienthong-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	step := func(format string, a ...any) {
		fmt.Fprintf(log, "%s  %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	bin := o.gatewayBin
	if bin == "" {
		step("building cmd/lienthong")
		if bin, err = buildGateway(dir); err != nil {
			return nil, err
		}
	}
	step("generating %d identities (%d declarations) and %d native rows", o.identities, int(float64(o.identities)*declarationsPerIdentity), o.nativeRows)
	t := time.Now()
	w := buildWorkload(o.seed, o.identities, o.nativeRows, o.samples, time.Now().UTC().Truncate(time.Second))
	rep.generation, rep.identities = time.Since(t), w.identities
	step("generated %d declarations in %d streams, %d native payloads in %v", w.declarations, len(w.streams), len(w.native), rep.generation.Round(time.Millisecond))

	echo, err := startEcho(ctx)
	if err != nil {
		return nil, err
	}
	defer echo.stop()

	for _, kind := range o.stores {
		sr, err := measureStore(ctx, o, kind, bin, filepath.Join(dir, kind), w, echo, step)
		if err != nil {
			return nil, fmt.Errorf("%s store: %w", kind, err)
		}
		rep.stores = append(rep.stores, sr)
	}
	if !o.noDemo {
		step("running lienthong demo --once")
		d, err := runDemo(ctx, bin, o.demoDeclarations)
		if err != nil {
			return nil, err
		}
		rep.demo = &d
		step("demo: %v for %d deliveries", d.Wall, d.Deliveries)
	}
	rep.loadAfter = loadAvg()
	return rep, nil
}

// storeRun is everything measured on one store.
type storeRun struct {
	kind           string
	ingest, native ingestResult
	ingestCPU      cpuShare // CPU used during the preload: harness, gateway, redis-server
	// sink is the same streams into the echo server's bare gRPC sink, just before the
	// preload, and sinkCPU the harness's and the echo server's CPU meanwhile.
	sink         ingestResult
	sinkCPU      cpuShare
	disk         *diskResult // the disk baseline, embedded store only
	writeBytes   int64       // bytes the gateway caused to be written to storage during the preload
	nativeCPU    cpuShare    // CPU used during the native ingest
	echo, lookup latencies
	// roundRatios are each round's lookup requests/s over the echo's of the round just
	// before it: their spread is the shared machine's noise within this run.
	roundRatios []float64
	// roundSteal is each lookup round's steal time: the share of the machine's cores its
	// other tenants took (stealShare).
	roundSteal    []float64
	echoCPU       cpuShare   // CPU used during the echo run: harness, echo server
	lookupCPU     cpuShare   // CPU used during the lookup run: harness, gateway, redis-server
	redis         *latencies // redis-benchmark GET, Redis store only
	rssKiB        int64
	redisBytes    int64 // used_memory after the preload minus before
	stopTook      time.Duration
	stopClean     bool  // the gateway exited by itself within the grace, its shutdown complete
	accessDropped int64 // lookups the gateway said it could not write to the access log
	answered      int   // distinct QR ids the preload answered
}

func measureStore(ctx context.Context, o options, kind, bin, dir string, w *workload, echo *echoServer, step func(string, ...any)) (storeRun, error) {
	sr := storeRun{kind: kind}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sr, err
	}
	var rs *redisServer
	redisURL := ""
	var before int64
	if kind == "redis" {
		var err error
		if rs, err = startRedis(ctx, dir); err != nil {
			return sr, err
		}
		defer rs.stop()
		redisURL = "redis://" + rs.addr
		if before, err = rs.usedMemory(); err != nil {
			return sr, err
		}
	}
	step("%s: starting lienthong serve", kind)
	gw, addr, debugAddr, err := startGateway(ctx, bin, dir, redisURL)
	if err != nil {
		return sr, err
	}
	stopped := false
	stopGateway := func() {
		if stopped {
			return
		}
		stopped = true
		sr.stopTook, sr.stopClean = gw.stopWithin(o.stopGrace)
		sr.accessDropped = gw.out.dropped()
		sr.stopClean = sr.stopClean && !gw.out.shutdownIncomplete()
		step("%s: gateway stopped %v after SIGTERM (cleanly: %v)", kind, sr.stopTook.Round(time.Millisecond), sr.stopClean)
		if !sr.stopClean {
			step("%s: the gateway's last output:\n%s", kind, gw.out)
		}
	}
	defer stopGateway()
	partners, closePartners, err := partnerPools(addr, o.conns)
	if err != nil {
		return sr, err
	}
	defer closePartners()

	// The ingest baselines go just before the preload, so that the machine's other load of
	// the moment falls on them and the preload alike.
	step("%s: baseline: the same declarations into the echo server's bare gRPC sink", kind)
	if sr.sink, sr.sinkCPU, err = sinkIngest(ctx, o, echo, w); err != nil {
		return sr, err
	}
	step("%s: sink %.0f declarations/s", kind, sr.sink.PerSecond())
	if kind == "embedded" {
		step("%s: baseline: durable random page writes on the store's disk for %v", kind, o.diskDuration)
		path := filepath.Join(dir, "disk-baseline")
		defer os.Remove(path) // when the store's phases are over: see diskBaseline
		d, err := diskBaseline(path, o.diskDuration, o.seed)
		if err != nil {
			return sr, fmt.Errorf("disk baseline: %w", err)
		}
		sr.disk = &d
		step("%s: disk %.0f MiB/s", kind, d.BytesPerSecond()/(1<<20))
	}

	step("%s: preloading %d declarations through StreamDeclarations (%d streams at a time)", kind, w.declarations, o.streams)
	prof := profiler{perfDir: o.perfDir, pprofDir: o.pprofDir, debugAddr: debugAddr}
	pid := gw.cmd.Process.Pid
	redisPID := 0
	if rs != nil {
		redisPID = rs.cmd.Process.Pid
	}
	stopPerf, err := prof.record(kind+"-preload", pid, 10)
	if err != nil {
		return sr, err
	}
	written, err := procWriteBytes(pid)
	if err != nil {
		return sr, err
	}
	var ingestErr error
	sr.ingestCPU, err = measureCPU(pid, redisPID, func() { sr.ingest, ingestErr = ingestStreams(ctx, partners, w, o.streams) })
	if err = cmp.Or(ingestErr, err); err != nil {
		return sr, err
	}
	if err := stopPerf(); err != nil {
		return sr, err
	}
	after, err := procWriteBytes(pid)
	if err != nil {
		return sr, err
	}
	sr.writeBytes = after - written
	sr.answered = len(sr.ingest.QRIDs)
	step("%s: %d identities, %.0f declarations/s", kind, sr.answered, sr.ingest.PerSecond())
	if rs != nil {
		after, err := rs.usedMemory()
		if err != nil {
			return sr, err
		}
		sr.redisBytes = after - before
	}
	mix, err := buildMix(ctx, partners, w, sr.ingest)
	if err != nil {
		return sr, err
	}
	// The run keeps only counts of them: a million QR ids and their encoded requests, kept
	// alive into the next store's phases, are objects the harness's garbage collector would
	// mark on every cycle there, and only there.
	sr.ingest.QRIDs, sr.ingest.SampleQRIDs = nil, nil

	checkpoint, err := dialPool(addr, tokCheckpoint, o.conns)
	if err != nil {
		return sr, err
	}
	defer checkpoint.close()
	echoPool, err := dialPool(echo.addr, tokCheckpoint, o.conns)
	if err != nil {
		return sr, err
	}
	defer echoPool.close()
	warm := min(2*time.Second, o.duration/5)
	step("%s: echo and lookups, %d workers, %v each in %d alternating rounds (after %v warm-up each)", kind, o.concurrency, o.duration, o.rounds, warm)
	runEcho(ctx, echoPool, o.concurrency, warm)
	runLookups(ctx, checkpoint, mix, o.concurrency, warm)
	// The gateway's profile spans the echo rounds too: it is idle in them.
	if stopPerf, err = prof.record(kind+"-lookup", pid, int(2*o.duration.Seconds())); err != nil {
		return sr, err
	}
	stopSelf, err := prof.self(kind + "-lookup-harness")
	if err != nil {
		return sr, err
	}
	round := o.duration / time.Duration(o.rounds)
	for i := 0; i < o.rounds; i++ {
		var e, l latencies
		ecpu, err := measureCPU(echo.cmd.Process.Pid, 0, func() { e = runEcho(ctx, echoPool, o.concurrency, round) })
		if err != nil {
			return sr, err
		}
		lcpu, err := measureCPU(pid, redisPID, func() { l = runLookups(ctx, checkpoint, mix, o.concurrency, round) })
		if err != nil {
			return sr, err
		}
		sr.echo, sr.echoCPU = sr.echo.plus(e), sr.echoCPU.plus(ecpu)
		r, steal := ratio(l.RPS(), e.RPS()), stealShare(lcpu.Steal, l.Elapsed)
		sr.roundRatios, sr.roundSteal = append(sr.roundRatios, r), append(sr.roundSteal, steal)
		step("%s: round %d: echo %.0f/s, lookup %.0f/s (%.2f ×); server CPU %.1f µs an echo call, %.1f µs a lookup; steal %.0f%% and %.0f%% of the cores",
			kind, i+1, e.RPS(), l.RPS(), r, perRequest(ecpu.Server, e.Requests), perRequest(lcpu.Server, l.Requests),
			100*stealShare(ecpu.Steal, e.Elapsed), 100*steal)
		sr.lookup, sr.lookupCPU = sr.lookup.plus(l), sr.lookupCPU.plus(lcpu)
	}
	if err := stopSelf(); err != nil {
		return sr, err
	}
	if err := stopPerf(); err != nil {
		return sr, err
	}
	step("%s: echo %.0f/s, lookup %.0f/s (%d errors)", kind, sr.echo.RPS(), sr.lookup.RPS(), sr.lookup.Errors)

	step("%s: native ingest of %d tokhaiyte CSV rows", kind, w.nativeRows)
	if stopPerf, err = prof.record(kind+"-native", pid, 5); err != nil {
		return sr, err
	}
	sr.nativeCPU, err = measureCPU(pid, redisPID, func() { sr.native, ingestErr = ingestNative(ctx, partners["tokhaiyte"], w, o.streams) })
	if err = cmp.Or(ingestErr, err); err != nil {
		return sr, err
	}
	if err := stopPerf(); err != nil {
		return sr, err
	}
	if sr.rssKiB, err = gw.rssKiB(); err != nil {
		return sr, err
	}
	if rs != nil {
		requests := max(20_000, int(o.duration.Seconds()*15_000))
		step("%s: redis-benchmark -t get -c %d -n %d", kind, o.concurrency, requests)
		l, err := redisBench(ctx, rs, o.concurrency, requests)
		if err != nil {
			return sr, err
		}
		sr.redis = &l
	}
	closePartners()
	checkpoint.close()
	echoPool.close()
	stopGateway()
	return sr, nil
}

// sinkIngest sends every stream of w into the echo server's ingest sink, as the preload
// sends them to the gateway (same pools, principals and streams at a time), and returns what
// the sink counted and the CPU the harness and the echo server used meanwhile.
func sinkIngest(ctx context.Context, o options, echo *echoServer, w *workload) (ingestResult, cpuShare, error) {
	pools, closePools, err := partnerPools(echo.addr, o.conns)
	if err != nil {
		return ingestResult{}, cpuShare{}, err
	}
	defer closePools()
	var res ingestResult
	var ingestErr error
	c, err := measureCPU(echo.cmd.Process.Pid, 0, func() { res, ingestErr = ingestStreams(ctx, pools, w, o.streams) })
	if err = cmp.Or(ingestErr, err); err != nil {
		return res, c, fmt.Errorf("ingest sink: %w", err)
	}
	return res, c, nil
}

// loadAvg is /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
