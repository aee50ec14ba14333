package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	progressbar "github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

var importCommand = subcommand{
	name: "import",
	args: "FILE",
	summary: "Bulk-submit a partner's native export (partner token of that platform): a tokhaiyte CSV, NCOVI JSON\n" +
		"pages (one page, a JSON array of pages, or JSON lines) or a Bluezone batch JSON, in chunks of at most\n" +
		"1,000 records. Resumable: committed chunks are written to FILE.import-state and skipped when the same\n" +
		"command runs again (the gateway is idempotent anyway). Prints accepted / duplicate / rejected counts.",
	example: `lienthong import --token "$TOKHAIYTE_TOKEN" --platform tokhaiyte --report rejected.csv khai-bao.csv`,
}

// importFormats maps a platform to its native export format and how its file is cut.
var importFormats = map[string]struct {
	format   lienthongv1.NativeFormat
	itemsKey string // JSON: the member holding the records; "" for CSV
}{
	"tokhaiyte": {lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, ""},
	"ncovi":     {lienthongv1.NativeFormat_NATIVE_FORMAT_NCOVI_JSON_PAGE, "data"},
	"bluezone":  {lienthongv1.NativeFormat_NATIVE_FORMAT_BLUEZONE_BATCH_JSON, "Items"},
}

// maxChunkRecords and maxChunkBytes are the gateway's limits per SubmitNativeRecords call,
// the bytes with room left for the request's own framing.
const (
	maxChunkRecords = 1000
	maxChunkBytes   = 4<<20 - 64<<10
)

type importOptions struct {
	platform, file     string
	report, statePath  string
	reportAll, quiet   bool
	chunkRecords       int
	retries            int
	sleep              func(context.Context, time.Duration) error
	progressIsTerminal func(io.Writer) bool
	ctx                context.Context // ends the import early (Ctrl-C)
}

func runImport(args []string, stdout, stderr io.Writer) int {
	var cf clientFlags
	var o importOptions
	fs := newFlagSet(importCommand, stderr)
	cf.register(fs)
	fs.StringVar(&o.platform, "platform", "", "the export's platform: bluezone, ncovi or tokhaiyte (required)")
	fs.StringVar(&o.report, "report", "", "write the rejected records to this CSV file (line, record, reasons, fields, messages)")
	fs.BoolVar(&o.reportAll, "report-all", false, "with --report: list every record with its outcome and QR id, not only the rejected")
	fs.StringVar(&o.statePath, "state", "", "the resume state file (default FILE.import-state)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	fs.IntVar(&o.chunkRecords, "chunk", maxChunkRecords, "records per request, at most 1000")
	fs.IntVar(&o.retries, "retries", 3, "how many times a chunk is retried when the gateway is busy or its store is down")
	pos, code := parseArgs(fs, args)
	if code >= 0 {
		return code
	}
	if msg := cf.check(); msg != "" {
		return usageError(stderr, "import", "%s", msg)
	}
	if _, ok := importFormats[o.platform]; !ok {
		return usageError(stderr, "import", "--platform %q: use bluezone, ncovi or tokhaiyte", o.platform)
	}
	if len(pos) != 1 {
		return usageError(stderr, "import", "give exactly one export FILE")
	}
	if o.chunkRecords < 1 || o.chunkRecords > maxChunkRecords {
		return usageError(stderr, "import", "--chunk %d: between 1 and %d", o.chunkRecords, maxChunkRecords)
	}
	if o.reportAll && o.report == "" {
		return usageError(stderr, "import", "--report-all needs --report FILE")
	}
	o.file = pos[0]
	if o.statePath == "" {
		o.statePath = o.file + ".import-state"
	}
	// Ctrl-C stops between chunks or cancels the one in flight; the state keeps what was
	// committed, and the same command goes on from there.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.ctx = ctx
	return o.run(&cf, stdout, stderr)
}

func (o *importOptions) run(cf *clientFlags, stdout, stderr io.Writer) int {
	if o.ctx == nil {
		o.ctx = context.Background()
	}
	data, err := os.ReadFile(o.file)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong import: %v\n", err)
		return exitFail
	}
	spec := importFormats[o.platform]
	lim := chunkLimits{records: o.chunkRecords, bytes: maxChunkBytes}
	var chunks []importChunk
	if spec.itemsKey == "" {
		chunks, err = splitTokhaiyteCSV(data, lim)
	} else {
		chunks, err = splitJSONPages(data, spec.itemsKey, lim)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lienthong import: %s is not a %s export: %v\n", o.file, o.platform, err)
		return exitFail
	}
	state, err := loadImportState(o.statePath, fileDigest(data), o.platform, o.chunkRecords, len(chunks))
	if err != nil {
		fmt.Fprintf(stderr, "lienthong import: %v\n", err)
		return exitFail
	}
	total, pending := 0, 0
	for i, c := range chunks {
		total += c.records
		if !state.done(i) {
			pending += c.records
		}
	}
	if pending == 0 && len(chunks) > 0 && len(state.Committed) == len(chunks) {
		fmt.Fprintf(stderr, "lienthong import: every chunk of %s was committed by an earlier run (see %s); delete that file to import again\n", o.file, o.statePath)
	}

	var report *importReport
	if o.report != "" {
		if report, err = openImportReport(o.report, len(state.Committed) > 0, o.reportAll); err != nil {
			fmt.Fprintf(stderr, "lienthong import: --report: %v\n", err)
			return exitFail
		}
	}
	closeReport := func() error {
		if report == nil {
			return nil
		}
		return report.Close()
	}

	conn, err := cf.dial()
	if err != nil {
		closeReport()
		return usageError(stderr, "import", "%v", err)
	}
	defer conn.Close()
	client := lienthongv1.NewIngestServiceClient(conn)
	bar := o.progress(stderr, pending)

	for i, c := range chunks {
		if state.done(i) {
			continue
		}
		resp, err := o.submit(cf, client, spec.format, c, stderr)
		if err != nil {
			if bar != nil {
				_ = bar.Exit()
				fmt.Fprintln(stderr)
			}
			closeReport()
			if o.ctx.Err() != nil {
				fmt.Fprintf(stderr, "lienthong import: interrupted during chunk %d of %d\n", i+1, len(chunks))
			} else {
				fmt.Fprintf(stderr, "lienthong import: chunk %d of %d (records %d to %d of %s) was not stored\n", i+1, len(chunks), c.firstIndex+1, c.firstIndex+c.records, o.file)
				cf.rpcFailed(stderr, "import", err)
			}
			fmt.Fprintf(stderr, "%d of %d chunks are committed (in %s); run the same command again to go on from chunk %d\n",
				len(state.Committed), len(chunks), o.statePath, i+1)
			return exitFail
		}
		if report != nil {
			if err := report.write(c, resp.GetResults()); err != nil {
				fmt.Fprintf(stderr, "lienthong import: --report: %v\n", err)
				return exitFail
			}
		}
		// The chunk is committed: record it before going on, so a crash after this line
		// never sends it again.
		state.Committed[strconv.Itoa(i)] = chunkCounts{Accepted: int(resp.GetAcceptedCount()), Duplicate: int(resp.GetDuplicateCount()), Rejected: int(resp.GetRejectedCount())}
		if err := state.save(o.statePath); err != nil {
			fmt.Fprintf(stderr, "lienthong import: %v\n", err)
			return exitFail
		}
		if bar != nil {
			_ = bar.Add(c.records)
		}
	}
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err := closeReport(); err != nil {
		fmt.Fprintf(stderr, "lienthong import: --report: %v\n", err)
		return exitFail
	}
	sum := state.sum()
	fmt.Fprintf(stdout, "%s: %s in %s: accepted %d, duplicate %d, rejected %d\n",
		o.file, plural(total, "record"), plural(len(chunks), "chunk"), sum.Accepted, sum.Duplicate, sum.Rejected)
	if skipped := state.skipped; skipped > 0 {
		fmt.Fprintf(stdout, "(%s committed by an earlier run skipped; counts included)\n", plural(skipped, "chunk"))
	}
	if sum.Rejected > 0 && o.report != "" {
		fmt.Fprintf(stdout, "rejected records are listed in %s\n", o.report)
	}
	return exitOK
}

// submit sends one chunk, retrying with back-off when the gateway is busy or its store is
// down (it says so: RESOURCE_EXHAUSTED, or UNAVAILABLE from the gateway itself). A gateway
// that cannot be reached is not retried: the operator has to start it.
func (o *importOptions) submit(cf *clientFlags, client lienthongv1.IngestServiceClient, format lienthongv1.NativeFormat, c importChunk, stderr io.Writer) (*lienthongv1.SubmitNativeRecordsResponse, error) {
	sleep := o.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		ctx, cancel := cf.callContext(o.ctx)
		resp, err := client.SubmitNativeRecords(ctx, &lienthongv1.SubmitNativeRecordsRequest{Platform: o.platform, Format: format, Payload: c.payload})
		cancel()
		if err == nil {
			return resp, nil
		}
		st := status.Convert(err)
		retryable := st.Code() == codes.ResourceExhausted ||
			st.Code() == codes.Unavailable && strings.HasPrefix(st.Message(), "the gateway's store")
		if !retryable || attempt >= o.retries {
			return nil, err
		}
		wait := backoff
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
				wait = ri.GetRetryDelay().AsDuration()
			}
		}
		fmt.Fprintf(stderr, "lienthong import: %s (%s); retrying in %s\n", st.Code(), st.Message(), wait)
		if err := sleep(o.ctx, wait); err != nil {
			return nil, err
		}
		backoff *= 2
	}
}

// plural says "1 chunk", "2 chunks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// progress returns a bar on stderr counting records, or nil when stderr is not a terminal
// or --quiet is set.
func (o *importOptions) progress(stderr io.Writer, total int) *progressbar.ProgressBar {
	isTerm := o.progressIsTerminal
	if isTerm == nil {
		isTerm = stderrIsTerminal
	}
	if o.quiet || total == 0 || !isTerm(stderr) {
		return nil
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("importing "+o.platform),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
	)
}

func stderrIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
