package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets of issue 7, checked as ratios measured in the same run.
const (
	targetLookupEmbeddedRPS = 0.8    // × echo requests/s
	targetLookupEmbeddedP99 = 2.0    // × echo p99, at most
	targetLookupRedisRPS    = 0.6    // × echo requests/s
	targetIngestPerSecond   = 20_000 // canonical declarations/s through streams, each store
	targetDemoWall          = 10 * time.Second
	targetRedisPerIdentity  = 1024 // bytes
)

// report is one harness run.
type report struct {
	opts                  options
	started               time.Time
	loadBefore, loadAfter string
	generation            time.Duration
	identities            int // the simulator's ground truth
	stores                []storeRun
	demo                  *demoResult
}

func (r *report) store(kind string) *storeRun {
	for i := range r.stores {
		if r.stores[i].kind == kind {
			return &r.stores[i]
		}
	}
	return nil
}

// markdown renders the results file.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	o := r.opts
	mode := ""
	if o.smoke {
		mode = " (smoke mode: figures are not meaningful)"
	}
	p("# Liên thông load results%s\n\n", mode)
	p("- Date: %s\n", r.started.Format(time.RFC3339))
	p("- Machine: %d CPUs (nproc), %s memory, CPU %s\n", runtime.NumCPU(), memTotal(), cpuModel())
	p("- Go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	p("- Load average (1, 5, 15 min): %s at start, %s at end (the machine is shared: compare ratios, not absolutes)\n", r.loadBefore, r.loadAfter)
	p("- Run: %d identities requested, %v of echo and %v of lookups in %d alternating rounds, %d workers, %d connections per pool, %d ingest streams, %d native rows\n\n",
		o.identities, o.duration, o.duration, o.rounds, o.concurrency, o.conns, o.streams, o.nativeRows)

	p("## Lookup (closed loop; mix: 90%% known QR ids, 3%% unknown ids, 3%% signed QRs, 2%% chip cards, 2%% 1405 QRs)\n\n")
	p("| run | requests/s | p50 | p99 | p99.9 | requests | errors |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.stores {
		row := func(name string, l latencies, p999 bool) {
			q := ms(l.P999)
			if !p999 {
				q = "n/a"
			}
			p("| %s | %.0f | %s | %s | %s | %d | %d |\n", name, l.RPS(), ms(l.P50), ms(l.P99), q, l.Requests, l.Errors)
		}
		row("echo (gRPC health Check), "+s.kind+" run", s.echo, true)
		row("lookup, "+s.kind+" store", s.lookup, true)
		if s.redis != nil {
			row("redis-benchmark GET -c "+fmt.Sprint(o.concurrency), *s.redis, false)
		}
	}
	p("\nLookup over echo requests/s, round by round (each lookup round against the echo round just before\nit; their spread is the shared machine's noise in this run):\n\n")
	for _, s := range r.stores {
		p("- %s: %s\n", s.kind, roundList(s.roundRatios))
	}
	p("\nThe machine's steal time in each lookup round (the share of its cores the hypervisor gave other\ntenants, /proc/stat):\n\n")
	for _, s := range r.stores {
		p("- %s: %s\n", s.kind, percentList(s.roundSteal))
	}
	p("\nWhere the two cores went (CPU time per request, µs, from /proc and getrusage). The three processes\n")
	p("share the machine's cores, so the ratio of requests/s follows the ratio of the totals; the harness's\n")
	p("own share is higher for lookups (longer requests and answers, fewer requests a system call).\n\n")
	r.perProcess(p, "CPU", "%.1f", func(c cpuShare) [3]float64 {
		return [3]float64{float64(c.Client.Microseconds()), float64(c.Server.Microseconds()), float64(c.Redis.Microseconds())}
	})
	p("\nContext switches per request (voluntary and not, every thread, from /proc and getrusage): a process\n")
	p("that waits on another parks threads and wakes them again, and on a virtual machine each switch costs\n")
	p("CPU the profiles of Go programs do not show.\n\n")
	r.perProcess(p, "switches", "%.2f", func(c cpuShare) [3]float64 {
		return [3]float64{float64(c.ClientSwitches), float64(c.ServerSwitches), float64(c.RedisSwitches)}
	})
	for _, s := range r.stores {
		if s.lookup.FirstError != nil {
			p("\nFirst lookup error (%s): %v\n", s.kind, s.lookup.FirstError)
		}
	}

	p("\n## Ingest\n\n| phase | store | declarations | accepted | duplicate | rejected | seconds | declarations/s |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.stores {
		p("| StreamDeclarations, canonical, 1,000 per message | %s | %d | %d | %d | %d | %.2f | %.0f |\n", s.kind,
			s.ingest.Declarations, s.ingest.Accepted, s.ingest.Duplicate, s.ingest.Rejected, s.ingest.Elapsed.Seconds(), s.ingest.PerSecond())
		p("| SubmitNativeRecords, tokhaiyte CSV, 1,000 per call | %s | %d | %d | %d | %d | %.2f | %.0f |\n", s.kind,
			s.native.Declarations, s.native.Accepted, s.native.Duplicate, s.native.Rejected, s.native.Elapsed.Seconds(), s.native.PerSecond())
		p("| StreamDeclarations, the same streams into a bare gRPC sink | none (before the %s preload) | %d | %d | | | %.2f | %.0f |\n", s.kind,
			s.sink.Declarations, s.sink.Accepted, s.sink.Elapsed.Seconds(), s.sink.PerSecond())
	}
	if r.demo != nil {
		p("| lienthong demo --once, simulated partners end to end | embedded | %d | | | | %.2f | %.0f |\n",
			r.demo.Deliveries, r.demo.Wall.Seconds(), float64(r.demo.Deliveries)/r.demo.Wall.Seconds())
	}

	p("\nWhere the cores went during ingest (CPU time per declaration, µs; the server is the gateway, or the\necho server for the sink; server cores busy: its CPU time over the phase's wall time, of the machine's %d):\n\n", runtime.NumCPU())
	p("| phase | store | harness (client) | server | redis-server | server cores busy |\n|---|---|---:|---:|---:|---:|\n")
	for _, s := range r.stores {
		for _, ph := range []struct {
			name  string
			res   ingestResult
			cpu   cpuShare
			store string
		}{{"CPU: StreamDeclarations", s.ingest, s.ingestCPU, s.kind}, {"CPU: SubmitNativeRecords", s.native, s.nativeCPU, s.kind},
			{"CPU: StreamDeclarations, bare gRPC sink", s.sink, s.sinkCPU, "none (before the " + s.kind + " preload)"}} {
			redis := "n/a"
			if ph.cpu.Redis > 0 {
				redis = fmt.Sprintf("%.1f", perRequest(ph.cpu.Redis, ph.res.Declarations))
			}
			busy := 0.0
			if ph.res.Elapsed > 0 {
				busy = ph.cpu.Server.Seconds() / ph.res.Elapsed.Seconds()
			}
			p("| %s | %s | %.1f | %.1f | %s | %.2f |\n", ph.name, ph.store,
				perRequest(ph.cpu.Client, ph.res.Declarations), perRequest(ph.cpu.Server, ph.res.Declarations), redis, busy)
		}
	}

	p("\nIngest against its baselines in this run, each measured just before the store's preload: the same\n")
	p("streams into a bare gRPC sink (the echo server receives and decodes every message, counts it and\n")
	p("stores nothing), and for the embedded store the disk: random 4 KiB page writes in page order, %d\n", diskPagesPerSync)
	p("between fdatasyncs, into a new file beside the store's. The gateway's bytes written per declaration are\n")
	p("/proc/PID/io's write_bytes over the preload; the disk alone would allow its rate divided by them.\n\n")
	p("| store | ingest declarations/s | bare gRPC sink declarations/s | ingest over sink | disk MiB/s | gateway KiB written per declaration | declarations/s the disk allows |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.stores {
		disk, per, bound := "n/a", "n/a", "n/a"
		if s.disk != nil {
			disk = fmt.Sprintf("%.0f", s.disk.BytesPerSecond()/(1<<20))
			per = fmt.Sprintf("%.1f", perUnit(s.writeBytes, s.ingest.Declarations)/1024)
			bound = fmt.Sprintf("%.0f", diskBound(s))
		}
		p("| %s | %.0f | %.0f | %.2f × | %s | %s | %s |\n", s.kind, s.ingest.PerSecond(), s.sink.PerSecond(),
			ratio(s.ingest.PerSecond(), s.sink.PerSecond()), disk, per, bound)
	}
	if r.store("redis") != nil {
		p("\nThe harness's redis-server keeps nothing on disk (no append-only file, no snapshots).\n")
	}

	p("\n## Memory\n\nIdentities: the simulator's ground truth (%d); in brackets, the distinct QR ids the preload answered.\n\n", r.identities)
	p("| store | identities | gateway RSS at end | Redis used_memory growth | Redis bytes per identity | Redis bytes per declaration |\n|---|---:|---:|---:|---:|---:|\n")
	for _, s := range r.stores {
		if s.kind == "redis" {
			p("| %s | %d (%d) | %.1f MiB | %.1f MiB | %.0f | %.0f |\n", s.kind, r.identities, s.answered, float64(s.rssKiB)/1024,
				float64(s.redisBytes)/(1<<20), perUnit(s.redisBytes, r.identities), perUnit(s.redisBytes, s.ingest.Accepted))
		} else {
			p("| %s | %d (%d) | %.1f MiB | n/a | n/a | n/a |\n", s.kind, r.identities, s.answered, float64(s.rssKiB)/1024)
		}
	}

	p("\n## Gateway process\n\n| store | stop after SIGTERM | stopped cleanly (by itself, no \"shutdown incomplete\") | lookups dropped from the access log (lower bound) |\n|---|---:|---|---:|\n")
	for _, s := range r.stores {
		p("| %s | %.2f s | %v | %d |\n", s.kind, s.stopTook.Seconds(), s.stopClean, s.accessDropped)
	}

	p("\n## Targets (ratios from this run)\n\n| target | measured | met |\n|---|---:|---|\n")
	target := func(name, measured string, ok bool) {
		p("| %s | %s | %s |\n", name, measured, metText(ok))
	}
	if s := r.store("embedded"); s != nil {
		rps, p99 := ratio(s.lookup.RPS(), s.echo.RPS()), ratio(float64(s.lookup.P99), float64(s.echo.P99))
		target(fmt.Sprintf("lookup embedded ≥ %.1f × echo requests/s", targetLookupEmbeddedRPS), fmt.Sprintf("%.2f × (rounds %s)", rps, roundRange(s.roundRatios)), rps >= targetLookupEmbeddedRPS)
		target(fmt.Sprintf("lookup embedded p99 ≤ %.0f × echo p99", targetLookupEmbeddedP99), fmt.Sprintf("%.2f ×", p99), p99 <= targetLookupEmbeddedP99)
	}
	if s := r.store("redis"); s != nil {
		rps := ratio(s.lookup.RPS(), s.echo.RPS())
		target(fmt.Sprintf("lookup Redis ≥ %.1f × echo requests/s", targetLookupRedisRPS), fmt.Sprintf("%.2f × (rounds %s)", rps, roundRange(s.roundRatios)), rps >= targetLookupRedisRPS)
	}
	for _, s := range r.stores {
		measured := fmt.Sprintf("%.0f/s (%.2f × the bare gRPC sink", s.ingest.PerSecond(), ratio(s.ingest.PerSecond(), s.sink.PerSecond()))
		if s.disk != nil {
			measured += fmt.Sprintf("; the disk allows %.0f/s", diskBound(s))
		}
		target(fmt.Sprintf("canonical ingest ≥ %d/s, %s", targetIngestPerSecond, s.kind), measured+")", s.ingest.PerSecond() >= targetIngestPerSecond)
	}
	if r.demo != nil {
		name := fmt.Sprintf("demo end to end < %v", targetDemoWall)
		if o.demoDeclarations > 0 {
			name += fmt.Sprintf(" (run with %d declarations, not 96,347)", o.demoDeclarations)
		}
		target(name, r.demo.Wall.Round(time.Millisecond).String(), r.demo.Wall < targetDemoWall)
	}
	if s := r.store("redis"); s != nil {
		per := perUnit(s.redisBytes, r.identities)
		target(fmt.Sprintf("Redis ≤ %d bytes per identity", targetRedisPerIdentity), fmt.Sprintf("%.0f B", per), per <= targetRedisPerIdentity)
	}
	p("\nWorkload generation (not timed in any figure): %v.\n", r.generation.Round(time.Millisecond))
	return b.String()
}

// diskBound is the declarations per second the disk baseline would take at the bytes the
// gateway wrote per declaration during the preload (0 when either is unknown).
func diskBound(s storeRun) float64 {
	if s.disk == nil || s.writeBytes <= 0 || s.ingest.Declarations == 0 {
		return 0
	}
	return s.disk.BytesPerSecond() / (float64(s.writeBytes) / float64(s.ingest.Declarations))
}

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

// roundList is the rounds' ratios in the order they ran.
func roundList(rs []float64) string { return formatList(rs, "%.2f", 1) }

// percentList writes shares as percentages, comma-separated.
func percentList(fs []float64) string { return formatList(fs, "%.1f%%", 100) }

// formatList writes each of fs times scale in format, comma-separated.
func formatList(fs []float64, format string, scale float64) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf(format, scale*f)
	}
	return strings.Join(out, ", ")
}

// roundRange is the least and the greatest of the rounds' ratios.
func roundRange(rs []float64) string {
	if len(rs) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f–%.2f", slices.Min(rs), slices.Max(rs))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func perUnit(bytes int64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(bytes) / float64(n)
}

// memTotal is MemTotal from /proc/meminfo, in GiB.
func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

// perProcess prints a table of what the harness, the server and redis-server spent per request
// in each store's echo and lookup runs, amounts giving a run's totals in that order; redis-server
// is n/a where none served the run.
func (r *report) perProcess(p func(string, ...any), what, format string, amounts func(cpuShare) [3]float64) {
	p("| run | harness (client) | server | redis-server | total |\n|---|---:|---:|---:|---:|\n")
	row := func(name string, l latencies, c cpuShare) {
		a := amounts(c)
		per := func(v float64) string { return fmt.Sprintf(format, perEach(v, l.Requests)) }
		redis := "n/a"
		if c.Redis > 0 {
			redis = per(a[2])
		}
		p("| %s: %s | %s | %s | %s | %s |\n", what, name, per(a[0]), per(a[1]), redis, per(a[0]+a[1]+a[2]))
	}
	for _, s := range r.stores {
		row("echo, "+s.kind+" run", s.echo, s.echoCPU)
		row("lookup, "+s.kind+" store", s.lookup, s.lookupCPU)
	}
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
