package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lienthong/lienthong/adapters/sim"
)

// options is what the command line asks for.
type options struct {
	population  sim.Config
	servers     sim.ServerConfig
	pushTo      string
	secret      []byte
	groundTruth string
}

// parseFlags reads the command line; credentials may also come from the environment
// (PARTNERSIM_NCOVI_TOKEN, PARTNERSIM_TOKHAIYTE_KEY, PARTNERSIM_BLUEZONE_SECRET), which keeps
// them out of the process list.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("partnersim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: partnersim [flags]\n\n"+
			"Serves a generated population as the partner platforms do: NCOVI's feed, tokhaiyte's CSV\n"+
			"export and the population register on loopback ports (printed at start as one JSON line),\n"+
			"and pushes Bluezone's signed batches to a gateway with --push-to. Runs until SIGINT or SIGTERM.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	p := &o.population
	fs.Int64Var(&p.Seed, "seed", 1, "seed of the population and of the fault draws: the same seed gives the same data")
	fs.IntVar(&p.People, "people", 0, "people in the population (0: declarations × 10 / 24)")
	fs.IntVar(&p.Declarations, "declarations", sim.DefaultDeclarations, "native record versions over the three platforms, NCOVI corrections included")
	fs.Float64Var(&p.WrongShare, "wrong-share", sim.DefaultWrongShare, "share of declarations that must be rejected (negative: none)")
	epoch := fs.String("epoch", "", "the population's \"now\" (RFC 3339): declarations fall in the 48 hours before it (default: the current time)")
	fs.BoolVar(&p.Registry, "registry-faults", false, "also generate declarations the population register contradicts (registry_mismatch, registry_unknown)")
	fs.IntVar(&p.BatchSize, "batch-size", 500, "Bluezone items per pushed batch (1..1000)")
	fs.Float64Var(&p.ResendShare, "resend-share", 0.03, "share of Bluezone batches pushed twice (negative: none)")
	fs.Float64Var(&p.StaleShare, "stale-share", 0.02, "share of people whose declarations are all 4–6 days old, so STALE (negative: none)")
	fs.Float64Var(&p.Corrections, "corrections", 0.04, "NCOVI corrections per NCOVI record (negative: none)")

	s := &o.servers
	fs.StringVar(&s.NCOVIAddr, "ncovi-addr", "127.0.0.1:0", "listen address of NCOVI's feed")
	fs.StringVar(&s.TokhaiyteAddr, "tokhaiyte-addr", "127.0.0.1:0", "listen address of tokhaiyte's export")
	fs.StringVar(&s.RegistryAddr, "registry-addr", "127.0.0.1:0", "listen address of the population register")
	fs.StringVar(&s.NCOVIToken, "ncovi-token", "", "bearer token NCOVI's feed requires (or PARTNERSIM_NCOVI_TOKEN)")
	fs.StringVar(&s.TokhaiyteKey, "tokhaiyte-key", "", "X-Api-Key tokhaiyte's export requires (or PARTNERSIM_TOKHAIYTE_KEY)")
	secret := fs.String("bluezone-secret", "", "HMAC secret the Bluezone pusher signs with (or PARTNERSIM_BLUEZONE_SECRET)")
	fs.StringVar(&o.pushTo, "push-to", "", "gateway HTTP base URL to push Bluezone's declarations to, e.g. http://127.0.0.1:7401 (empty: no push)")
	fs.Float64Var(&s.BluezoneRate, "rate", 0, "Bluezone declarations pushed per second (0: as fast as the gateway answers)")
	fs.IntVar(&s.BluezoneAttempts, "push-attempts", 10, "attempts per Bluezone batch before the push gives up")
	fs.IntVar(&s.BluezoneWorkers, "push-workers", 1, "Bluezone batches in flight at once")
	fs.StringVar(&o.groundTruth, "ground-truth", "", "write the ground truth (JSON lines: records, re-deliveries, identities, people, demo QRs, summary) to this file")

	downs := map[string]*string{}
	for _, pf := range []struct {
		name   string
		faults *sim.Faults
		all    bool
	}{{"ncovi", &s.NCOVI, true}, {"tokhaiyte", &s.Tokhaiyte, true}, {"registry", &s.Registry, true}, {"bluezone", &s.Bluezone, false}} {
		f, n := pf.faults, pf.name
		const window = " between two instants: FROM,UNTIL as RFC 3339 times or offsets from start like +2m,+5m"
		if !pf.all {
			fs.DurationVar(&f.Latency, n+"-latency", 0, "delay before every Bluezone push")
			downs[n] = fs.String(n+"-down", "", "the Bluezone pusher pauses"+window)
			continue
		}
		fs.DurationVar(&f.Latency, n+"-latency", 0, "latency added to every "+n+" answer")
		downs[n] = fs.String(n+"-down", "", n+" answers 503 with Retry-After"+window)
		fs.Float64Var(&f.ErrorRate, n+"-error-rate", 0, "share of "+n+" requests answered 500")
		fs.Float64Var(&f.TimeoutRate, n+"-timeout-rate", 0, "share of "+n+" requests that hang until the client gives up")
		fs.Float64Var(&f.RateLimitRate, n+"-429-rate", 0, "share of "+n+" requests answered 429 with Retry-After")
		fs.DurationVar(&f.RetryAfter, n+"-retry-after", time.Second, "Retry-After of "+n+"'s 429 and 503 answers")
		fs.Float64Var(&f.TruncateRate, n+"-truncate-rate", 0, "share of "+n+" answers whose body is cut in the middle")
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	start := time.Now()
	p.Epoch = start.UTC().Truncate(time.Second)
	if *epoch != "" {
		t, err := time.Parse(time.RFC3339, *epoch)
		if err != nil {
			return o, fmt.Errorf("--epoch: %v", err)
		}
		p.Epoch = t
	}
	for name, f := range map[string]*sim.Faults{"ncovi": &s.NCOVI, "tokhaiyte": &s.Tokhaiyte, "registry": &s.Registry, "bluezone": &s.Bluezone} {
		if *downs[name] == "" {
			continue
		}
		from, until, err := parseWindow(*downs[name], start)
		if err != nil {
			return o, fmt.Errorf("--%s-down: %v", name, err)
		}
		f.DownFrom, f.DownUntil = from, until
	}
	for _, env := range []struct {
		v    *string
		name string
	}{{&s.NCOVIToken, "PARTNERSIM_NCOVI_TOKEN"}, {&s.TokhaiyteKey, "PARTNERSIM_TOKHAIYTE_KEY"}, {secret, "PARTNERSIM_BLUEZONE_SECRET"}} {
		if *env.v == "" {
			*env.v = os.Getenv(env.name)
		}
	}
	if s.NCOVIToken == "" || s.TokhaiyteKey == "" {
		return o, fmt.Errorf("--ncovi-token and --tokhaiyte-key are required")
	}
	if o.pushTo != "" {
		if *secret == "" {
			return o, fmt.Errorf("--push-to needs --bluezone-secret")
		}
		o.secret = []byte(*secret)
	}
	return o, nil
}

// parseWindow reads "FROM,UNTIL", each an RFC 3339 time or an offset from start ("+90s").
func parseWindow(s string, start time.Time) (time.Time, time.Time, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return time.Time{}, time.Time{}, fmt.Errorf("want FROM,UNTIL")
	}
	var out [2]time.Time
	for i, v := range []string{a, b} {
		v = strings.TrimSpace(v)
		if d, err := time.ParseDuration(strings.TrimPrefix(v, "+")); err == nil && strings.HasPrefix(v, "+") {
			out[i] = start.Add(d)
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor an offset like +2m", v)
		}
		out[i] = t
	}
	if !out[1].After(out[0]) {
		return time.Time{}, time.Time{}, fmt.Errorf("UNTIL must be after FROM")
	}
	return out[0], out[1], nil
}
