package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
	"github.com/lienthong/lienthong/gateway/store"
)

// demoPlatforms is the order the demo shows the platforms in.
var demoPlatforms = []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lienthong demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "exit after the summary instead of serving (for scripts and CI)")
	declarations := fs.Int("declarations", 96347, "declarations in the simulated population (the source document's two days)")
	seed := fs.Int64("seed", 20210815, "seed of the simulated population")
	dataDir := fs.String("data-dir", "", "keep the gateway's data here (default: a temporary folder removed at exit)")
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:7400", "gRPC listen address")
	httpAddr := fs.String("http-addr", "127.0.0.1:7401", "HTTP listen address")
	verbose := fs.Bool("v", false, "log the gateway's own lines (warnings and above otherwise)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: lienthong demo [flags]

Start the gateway on the embedded store with the three simulated partners (Bluezone pushing,
NCOVI and tokhaiyte pulled), ingest the source document's 96,347 declarations, print what
happened, and keep serving with the QR strings and commands to try.

Example:
  lienthong demo            # then follow the printed commands
  lienthong demo --once     # exit after the summary

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *declarations < 10 {
		fmt.Fprintln(stderr, "lienthong demo: takes no arguments, and --declarations must be at least 10")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &demo{out: stdout, errOut: stderr, declarations: *declarations, seed: *seed, dataDir: *dataDir,
		grpcAddr: *grpcAddr, httpAddr: *httpAddr, verbose: *verbose}
	if err := d.run(ctx, *once); err != nil {
		fmt.Fprintf(stderr, "lienthong demo: %v\n", err)
		return exitFail
	}
	return exitOK
}

type demo struct {
	out, errOut                 io.Writer
	declarations                int
	seed                        int64
	dataDir, grpcAddr, httpAddr string
	verbose                     bool
	tokens                      map[string]string // principal id → token
	progress                    *progress
}

func (d *demo) run(ctx context.Context, once bool) error {
	start := time.Now()
	epoch := start.UTC().Truncate(time.Second)
	pop := sim.Generate(sim.Config{Seed: d.seed, Declarations: d.declarations, Epoch: epoch})
	truth := pop.GroundTruth()
	fmt.Fprintf(d.out, "Liên thông demo: %d declarations from %d simulated people on Bluezone, NCOVI and tokhaiyte\n",
		truth.Summary.Total.Versions, truth.Summary.People)

	partnerSecrets := struct{ ncovi, tokhaiyte, bluezone string }{randomToken(), randomToken(), randomToken()}
	servers, err := sim.Start(ctx, pop, sim.ServerConfig{NCOVIToken: partnerSecrets.ncovi, TokhaiyteKey: partnerSecrets.tokhaiyte})
	if err != nil {
		return fmt.Errorf("simulated partners: %w", err)
	}
	defer servers.Shutdown(context.Background())

	dir := d.dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "lienthong-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.GRPCAddr, cfg.HTTPAddr = dir, d.grpcAddr, d.httpAddr
	cfg.RetentionDays = 0
	cfg.Limits = nil // the demo's own callers are not rate limited
	cfg.Bluezone = config.Bluezone{Enabled: true, Secret: partnerSecrets.bluezone}
	cfg.NCOVI.Enabled, cfg.NCOVI.BaseURL, cfg.NCOVI.Token = true, servers.NCOVIURL(), partnerSecrets.ncovi
	cfg.Tokhaiyte.Enabled, cfg.Tokhaiyte.BaseURL, cfg.Tokhaiyte.APIKey = true, servers.TokhaiyteURL(), partnerSecrets.tokhaiyte
	cfg.Tokhaiyte.Window = config.Duration{Duration: 6 * time.Hour}
	cfg.Credentials, d.tokens = demoCredentials()
	if err := cfg.Validate(); err != nil {
		return err
	}
	level := slog.LevelWarn
	if d.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(d.errOut, &slog.HandlerOptions{Level: level}))

	d.progress = newProgress(truth.Summary)
	gw, err := startGateway(ctx, cfg, log, d.progress.observe)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := gw.Shutdown(sctx); err != nil {
			fmt.Fprintf(d.errOut, "lienthong demo: shutdown: %v\n", err)
		}
	}()
	ingestStart := time.Now()
	pushErr := make(chan error, 1)
	go func() {
		_, err := servers.PushBluezone(ctx, "http://"+gw.HTTPAddr, []byte(partnerSecrets.bluezone))
		pushErr <- err
	}()
	if err := d.progress.wait(ctx, d.errOut, pushErr); err != nil {
		return err
	}
	wall := time.Since(ingestStart)
	if err := d.summary(ctx, gw, truth, wall); err != nil {
		return err
	}
	d.tryNext(gw, pop)
	if once {
		return nil
	}
	fmt.Fprintln(d.out, "\nServing until Ctrl-C.")
	<-ctx.Done()
	return nil
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's random source does not fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// demoCredentials makes one principal of each kind for the printed commands.
func demoCredentials() ([]auth.Credential, map[string]string) {
	principals := []auth.Principal{
		{ID: "demo-checkpoint", Role: auth.RoleCheckpoint, Station: "HCM-Q1-001", Area: auth.Area{Province: "79"}},
		{ID: "demo-ministry", Role: auth.RoleMinistry},
		{ID: "demo-bluezone", Role: auth.RolePartner, Platform: canonical.PlatformBluezone},
		{ID: "demo-ncovi", Role: auth.RolePartner, Platform: canonical.PlatformNCOVI},
		{ID: "demo-tokhaiyte", Role: auth.RolePartner, Platform: canonical.PlatformTokhaiyte},
	}
	tokens := map[string]string{}
	var creds []auth.Credential
	for _, p := range principals {
		t := randomToken()
		tokens[p.ID] = t
		creds = append(creds, auth.Credential{Principal: p, TokenSHA256: auth.HashToken(t)})
	}
	return creds, tokens
}

// progress counts what the gateway made of every delivered record, per platform.
type progress struct {
	want map[canonical.Platform]int // distinct record versions expected per platform

	mu        sync.Mutex
	seen      map[store.RecordKey]bool
	distinct  map[canonical.Platform]int
	received  map[canonical.Platform]int
	outcomes  map[canonical.Platform]map[store.Outcome]int
	reasons   map[canonical.Platform]map[canonical.Reason]int
	qrids     map[string]bool
	done      chan struct{}
	closeOnce sync.Once
}

func newProgress(s sim.Summary) *progress {
	p := &progress{
		want: map[canonical.Platform]int{}, seen: map[store.RecordKey]bool{}, distinct: map[canonical.Platform]int{},
		received: map[canonical.Platform]int{}, outcomes: map[canonical.Platform]map[store.Outcome]int{},
		reasons: map[canonical.Platform]map[canonical.Reason]int{}, qrids: map[string]bool{}, done: make(chan struct{}),
	}
	for _, pl := range demoPlatforms {
		p.want[pl] = s.Platforms[pl].Versions
		p.outcomes[pl] = map[store.Outcome]int{}
		p.reasons[pl] = map[canonical.Reason]int{}
	}
	return p
}

func (p *progress) observe(src canonical.Source, r store.Result, reasons []canonical.Reason) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl := src.Platform
	p.received[pl]++
	k := store.RecordKey{Platform: pl, RecordID: src.RecordID, Version: src.Version}
	if r.Outcome == store.OutcomeDuplicate || p.seen[k] {
		p.outcomes[pl][store.OutcomeDuplicate]++
	} else {
		p.outcomes[pl][r.Outcome]++
		for _, reason := range uniqueReasons(reasons) {
			p.reasons[pl][reason]++
		}
	}
	if !p.seen[k] {
		p.seen[k] = true
		p.distinct[pl]++
	}
	if r.QRID != "" {
		p.qrids[r.QRID] = true
	}
	complete := true
	for _, want := range demoPlatforms {
		complete = complete && p.distinct[want] >= p.want[want]
	}
	if complete {
		p.closeOnce.Do(func() { close(p.done) })
	}
}

func uniqueReasons(rs []canonical.Reason) []canonical.Reason {
	seen := map[canonical.Reason]bool{}
	var out []canonical.Reason
	for _, r := range rs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// line renders the live progress of one platform.
func (p *progress) line(pl canonical.Platform) string {
	o := p.outcomes[pl]
	return fmt.Sprintf("  %-10s %6d/%-6d received %7d  accepted %7d  duplicate %6d  rejected %5d",
		pl, p.distinct[pl], p.want[pl], p.received[pl], o[store.OutcomeAccepted], o[store.OutcomeDuplicate], o[store.OutcomeRejected])
}

// wait shows the progress until every expected record version has been seen once.
func (p *progress) wait(ctx context.Context, w io.Writer, pushErr <-chan error) error {
	live := isTerminal(w)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastPrint, drawn := time.Time{}, false
	draw := func(final bool) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if live {
			if drawn {
				fmt.Fprintf(w, "\033[%dA", len(demoPlatforms))
			}
			for _, pl := range demoPlatforms {
				fmt.Fprintf(w, "\r\033[K%s\n", p.line(pl))
			}
			drawn = true
			return
		}
		if final || time.Since(lastPrint) >= 2*time.Second {
			for _, pl := range demoPlatforms {
				fmt.Fprintln(w, p.line(pl))
			}
			lastPrint = time.Now()
		}
	}
	fmt.Fprintln(w, "Ingesting (pull from NCOVI and tokhaiyte, pushes from Bluezone):")
	for {
		select {
		case <-p.done:
			draw(true)
			return nil
		case err := <-pushErr:
			if err != nil {
				return fmt.Errorf("bluezone push: %w", err)
			}
			pushErr = nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			draw(false)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// summary prints the gateway's own account of the run, next to the simulator's expectation.
func (d *demo) summary(ctx context.Context, gw *runningGateway, truth *sim.GroundTruth, wall time.Duration) error {
	p := d.progress
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(d.out, "\nPer platform (distinct record versions; duplicates are re-deliveries):")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\treceived\taccepted\tduplicate\trejected\texpected accepted\texpected rejected\t")
	total := map[string]int{}
	for _, pl := range demoPlatforms {
		o, want := p.outcomes[pl], truth.Summary.Platforms[pl]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", pl, p.received[pl], o[store.OutcomeAccepted], o[store.OutcomeDuplicate], o[store.OutcomeRejected], want.Accepted, want.Rejected)
		total["received"] += p.received[pl]
		total["accepted"] += o[store.OutcomeAccepted]
		total["duplicate"] += o[store.OutcomeDuplicate]
		total["rejected"] += o[store.OutcomeRejected]
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%d\t%d\t%d\t\n", total["received"], total["accepted"], total["duplicate"], total["rejected"], truth.Summary.Total.Accepted, truth.Summary.Total.Rejected)
	tw.Flush()

	fmt.Fprintln(d.out, "\nRejected by reason (a declaration counts once per reason):")
	tw = tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	byReason := map[canonical.Reason]map[canonical.Platform]int{}
	for _, pl := range demoPlatforms {
		for r, n := range p.reasons[pl] {
			if byReason[r] == nil {
				byReason[r] = map[canonical.Platform]int{}
			}
			byReason[r][pl] = n
		}
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, string(r))
	}
	sort.Strings(reasons)
	fmt.Fprintln(tw, "reason\tbluezone\tncovi\ttokhaiyte\t")
	for _, r := range reasons {
		m := byReason[canonical.Reason(r)]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", r, m[canonical.PlatformBluezone], m[canonical.PlatformNCOVI], m[canonical.PlatformTokhaiyte])
	}
	tw.Flush()

	// Identities as the store sees them now (weak QR ids absorbed later resolve to their strong one).
	identities, byPlatforms, unverified := map[string]bool{}, map[int]int{}, 0
	for q := range p.qrids {
		v, err := gw.Store.View(ctx, q)
		if err != nil {
			return fmt.Errorf("reading identity views: %w", err)
		}
		if identities[v.QRID] {
			continue
		}
		identities[v.QRID] = true
		byPlatforms[len(v.Platforms())]++
		if !v.Verified {
			unverified++
		}
	}
	byField := map[store.Field]int{}
	inconsistent := 0
	for token := ""; ; {
		views, next, err := gw.Store.Inconsistencies(ctx, store.InconsistencyQuery{PageSize: 1000, PageToken: token})
		if err != nil {
			return fmt.Errorf("reading inconsistencies: %w", err)
		}
		for _, v := range views {
			inconsistent++
			seen := map[store.Field]bool{}
			for _, inc := range v.Inconsistencies {
				if !seen[inc.Field] {
					seen[inc.Field] = true
					byField[inc.Field]++
				}
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	fmt.Fprintf(d.out, "\nIdentities: %d (expected %d); known to 1 platform: %d, to 2: %d, to 3: %d; unverified (no document): %d\n",
		len(identities), truth.Summary.Identities, byPlatforms[1], byPlatforms[2], byPlatforms[3], unverified)
	var fields []string
	for _, f := range []store.Field{store.FieldName, store.FieldBirthDate, store.FieldGender, store.FieldPhone, store.FieldProvince} {
		fields = append(fields, fmt.Sprintf("%s %d", f, byField[f]))
	}
	fmt.Fprintf(d.out, "Inconsistent identities: %d (expected %d); by field: %s\n", inconsistent, truth.Summary.InconsistentIdentity, strings.Join(fields, ", "))
	fmt.Fprintf(d.out, "Wall time: %s for %d deliveries: %.0f declarations per second\n",
		wall.Round(time.Millisecond), total["received"], float64(total["received"])/wall.Seconds())
	return nil
}

// tryNext prints real QR strings from the demo population and the commands to look them up.
func (d *demo) tryNext(gw *runningGateway, pop *sim.Population) {
	fmt.Fprintln(d.out, "\nTry it (tokens below are this demo's; they die with it):")
	fmt.Fprintf(d.out, "  export LIENTHONG_ADDR=%s\n", gw.GRPCAddr)
	fmt.Fprintf(d.out, "  export LIENTHONG_TOKEN=%s   # checkpoint HCM-Q1-001, province 79\n", d.tokens["demo-checkpoint"])
	fmt.Fprintf(d.out, "  ministry token: %s   bluezone partner token: %s\n\n", d.tokens["demo-ministry"], d.tokens["demo-bluezone"])
	for _, q := range pop.DemoQRs() {
		qrid := gw.Deriver.QRID(q.Key)
		signed, _ := gw.Keys.Issue(qrid)
		want := q.Status
		if !q.Verified {
			want += ", unverified"
		}
		if q.Inconsistent {
			want += ", inconsistent"
		}
		fmt.Fprintf(d.out, "  %s person (expect %s): %s, born %d\n", q.Role, want, q.FullName, q.BirthYear)
		fmt.Fprintf(d.out, "    lienthong lookup %s\n", shellQuote(qrid))
		fmt.Fprintf(d.out, "    lienthong lookup %s\n", shellQuote(signed))
		if q.ChipCard != "" {
			fmt.Fprintf(d.out, "    lienthong lookup %s\n", shellQuote(q.ChipCard))
		}
		fmt.Fprintf(d.out, "    lienthong lookup %s\n", shellQuote(sim.Personal1405(pop.Person(q.PersonID), qrid)))
	}
	fmt.Fprintln(d.out, "\n  With grpcurl (reflection is on):")
	fmt.Fprintf(d.out, "    grpcurl -plaintext -H \"authorization: Bearer $LIENTHONG_TOKEN\" -d '{\"qr\": \"<QR string>\"}' %s lienthong.v1.CheckpointService/Lookup\n", gw.GRPCAddr)
	fmt.Fprintf(d.out, "    grpcurl -plaintext %s list\n", gw.GRPCAddr)
	fmt.Fprintf(d.out, "\n  Metrics: http://%s/metrics   Health: http://%s/healthz   Ready: http://%s/readyz   Keys: http://%s/keys\n",
		gw.HTTPAddr, gw.HTTPAddr, gw.HTTPAddr, gw.HTTPAddr)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
