package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/test/ports"
)

// ingestResult is what one ingest phase did.
type ingestResult struct {
	Declarations                  int
	Accepted, Duplicate, Rejected int
	Elapsed                       time.Duration
	QRIDs                         []string          // distinct QR ids answered (accepted or duplicate)
	SampleQRIDs                   map[string]string // sampled record id → its QR id
}

// PerSecond is declarations per second.
func (r ingestResult) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Declarations) / r.Elapsed.Seconds()
}

// partnerPools dials one pool per platform's partner principal.
func partnerPools(addr string, conns int) (map[canonical.Platform]pool, func(), error) {
	pools := map[canonical.Platform]pool{}
	closeAll := func() {
		for _, p := range pools {
			p.close()
		}
	}
	for pl, tok := range partnerToken {
		p, err := dialPool(addr, tok, conns)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		pools[canonical.Platform(pl)] = p
	}
	return pools, closeAll, nil
}

// ingestStreams sends every stream of w through StreamDeclarations, streams at a time.
func ingestStreams(ctx context.Context, pools map[canonical.Platform]pool, w *workload, streams int) (ingestResult, error) {
	var (
		mu    sync.Mutex
		res   ingestResult
		seen  = map[string]struct{}{}
		first error
		wg    sync.WaitGroup
	)
	res.SampleQRIDs = map[string]string{}
	jobs := make(chan int)
	start := time.Now()
	for s := 0; s < streams; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				st := w.streams[j]
				p := pools[st.platform]
				client := lienthongv1.NewIngestServiceClient(p[j%len(p)])
				resp, err := sendStream(ctx, client, st)
				mu.Lock()
				if err != nil {
					if first == nil {
						first = fmt.Errorf("stream %d (%s): %w", j, st.platform, err)
					}
				} else {
					res.Declarations += st.count
					res.Accepted += int(resp.GetAcceptedCount())
					res.Duplicate += int(resp.GetDuplicateCount())
					res.Rejected += int(resp.GetRejectedCount())
					for _, it := range resp.GetResults() {
						q := it.GetQrId()
						if q == "" {
							continue
						}
						seen[q] = struct{}{}
						if id, ok := st.sampled[int(it.GetIndex())]; ok {
							res.SampleQRIDs[id] = q
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	for j := range w.streams {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.QRIDs = make([]string, 0, len(seen))
	for q := range seen {
		res.QRIDs = append(res.QRIDs, q)
	}
	return res, first
}

// sendStream sends one stream's encoded batches as they are and decodes the summary.
func sendStream(ctx context.Context, client lienthongv1.IngestServiceClient, st stream) (*lienthongv1.StreamDeclarationsResponse, error) {
	cs, err := client.StreamDeclarations(ctx, raw)
	if err != nil {
		return nil, err
	}
	for i := range st.batches {
		if err := cs.SendMsg(&st.batches[i]); err != nil {
			break // the real error comes with CloseAndRecv
		}
	}
	return cs.CloseAndRecv()
}

// ingestNative sends the tokhaiyte CSV payloads through SubmitNativeRecords, calls at a time.
func ingestNative(ctx context.Context, p pool, w *workload, calls int) (ingestResult, error) {
	var (
		mu    sync.Mutex
		res   ingestResult
		first error
		wg    sync.WaitGroup
	)
	jobs := make(chan int)
	start := time.Now()
	for c := 0; c < calls; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				client := lienthongv1.NewIngestServiceClient(p[j%len(p)])
				resp, err := client.SubmitNativeRecords(ctx, &lienthongv1.SubmitNativeRecordsRequest{
					Platform: string(canonical.PlatformTokhaiyte), Format: lienthongv1.NativeFormat_NATIVE_FORMAT_TOKHAIYTE_CSV, Payload: w.native[j],
				})
				mu.Lock()
				if err != nil {
					if first == nil {
						first = fmt.Errorf("native payload %d: %w", j, err)
					}
				} else {
					res.Declarations += len(resp.GetResults())
					res.Accepted += int(resp.GetAcceptedCount())
					res.Duplicate += int(resp.GetDuplicateCount())
					res.Rejected += int(resp.GetRejectedCount())
				}
				mu.Unlock()
			}
		}()
	}
	for j := range w.native {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, first
}

// lookupMix is the QR strings a lookup run draws from.
type lookupMix struct {
	known    qrSet // bare QR ids of preloaded identities: 90% of lookups
	unknown  qrSet // well-formed QR ids no one declared under
	signed   qrSet // the gateway's signed QRs (GetSignedQR)
	chip     qrSet // chip ID card QRs of CCCD holders
	personal qrSet // decision-1405 personal QRs carrying the QR id
}

// qrSet is QR strings with their encoded LookupRequests.
type qrSet struct {
	qrs      []string
	requests []wire
}

func (q *qrSet) add(qr string) {
	q.qrs = append(q.qrs, qr)
	q.requests = append(q.requests, encode(&lienthongv1.LookupRequest{Qr: qr}))
}

// buildMix fetches a signed QR for every sample and derives the other forms.
func buildMix(ctx context.Context, pools map[canonical.Platform]pool, w *workload, preload ingestResult) (*lookupMix, error) {
	m := &lookupMix{}
	for _, q := range preload.QRIDs {
		m.known.add(q)
	}
	if len(m.known.qrs) == 0 {
		return nil, errors.New("the preload answered no QR ids")
	}
	// Unknown ids come from a deriver with another secret: the right form, never stored.
	other, err := identity.NewDeriver([]byte("load-harness-other-secret-32byte"))
	if err != nil {
		return nil, err
	}
	for i := 0; i < max(100, len(w.samples)); i++ {
		m.unknown.add(other.QRID(identity.Key{Kind: identity.KindCCCD, Value: fmt.Sprintf("0790%08d", i)}))
	}
	var firstErr error
	for _, s := range w.samples {
		qrid, ok := preload.SampleQRIDs[s.recordID]
		if !ok {
			continue
		}
		// By QR id: the gateway does not yet find people by record id (INVALID_ARGUMENT).
		p := pools[s.platform]
		resp, err := lienthongv1.NewIngestServiceClient(p[0]).GetSignedQR(ctx, &lienthongv1.GetSignedQRRequest{Person: &lienthongv1.GetSignedQRRequest_QrId{QrId: qrid}})
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue // a sampled record whose person was merged away or rejected: skip it
		}
		m.signed.add(resp.GetSignedQr())
		m.personal.add(sim.Personal1405(s.person, resp.GetQrId()))
		if s.person.Document.Type == canonical.DocumentCCCD {
			m.chip.add(sim.ChipCard(s.person))
		}
	}
	if len(m.signed.qrs) == 0 {
		return nil, fmt.Errorf("GetSignedQR answered none of %d sampled records (first error: %v)", len(w.samples), firstErr)
	}
	if len(m.chip.qrs) == 0 {
		m.chip = m.personal
	}
	return m, nil
}

// pick draws one encoded request: 90% known QR ids, then 3% unknown ids, 3% signed QRs, 2%
// chip cards and 2% decision-1405 QRs. known says it is a preloaded identity's QR id.
func (m *lookupMix) pick(rng *rand.Rand) (req *wire, known bool) {
	from := func(q *qrSet) *wire { return &q.requests[rng.IntN(len(q.requests))] }
	switch r := rng.IntN(100); {
	case r < 90:
		return from(&m.known), true
	case r < 93:
		return from(&m.unknown), false
	case r < 96:
		return from(&m.signed), false
	case r < 98:
		return from(&m.chip), false
	default:
		return from(&m.personal), false
	}
}

// checkedShare is the share of lookups of known QR ids whose answer the generator decodes
// and checks (one in checkedShare): the others are read as bytes, as echo answers are.
const checkedShare = 100

// runLookups drives CheckpointService.Lookup with the mix. Requests are sent encoded and
// answers kept as bytes, as for echo; a sample of the answers about preloaded identities is
// decoded, and one that does not find its person counts as an error.
func runLookups(ctx context.Context, p pool, m *lookupMix, workers int, dur time.Duration) latencies {
	return closedLoop(ctx, workers, dur, func(ctx context.Context, worker int, rng *rand.Rand) error {
		req, known := m.pick(rng)
		var a answer
		if err := p[worker%len(p)].Invoke(ctx, lienthongv1.CheckpointService_Lookup_FullMethodName, req, &a, raw); err != nil {
			return err
		}
		if !known || rng.IntN(checkedShare) != 0 {
			return nil
		}
		return checkFound(a.b)
	})
}

// checkFound says whether an encoded LookupResponse found a declared person.
func checkFound(b []byte) error {
	var resp lienthongv1.LookupResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("a lookup answer does not decode: %w", err)
	}
	if resp.GetStatus() == lienthongv1.Status_STATUS_NONE || resp.GetNewest() == nil {
		return fmt.Errorf("the lookup of preloaded QR id %s found no declaration (status %v)", resp.GetQrId(), resp.GetStatus())
	}
	return nil
}

// echoRequest is the bare health Check's request, encoded.
var echoRequest = encode(&healthpb.HealthCheckRequest{})

// runEcho drives the bare health Check with the same generator.
func runEcho(ctx context.Context, p pool, workers int, dur time.Duration) latencies {
	return closedLoop(ctx, workers, dur, func(ctx context.Context, worker int, rng *rand.Rand) error {
		var a answer
		return p[worker%len(p)].Invoke(ctx, healthpb.Health_Check_FullMethodName, &echoRequest, &a, raw)
	})
}

// redisBench runs redis-benchmark -t get against the server and parses its CSV line. It
// reports no p99.9 (redis-benchmark prints p50, p95, p99 and max).
func redisBench(ctx context.Context, r *redisServer, clients, requests int) (latencies, error) {
	host, port, _ := net.SplitHostPort(r.addr)
	start := time.Now()
	out, err := exec.CommandContext(ctx, "redis-benchmark", "-h", host, "-p", port, "-t", "get",
		"-c", strconv.Itoa(clients), "-n", strconv.Itoa(requests), "-r", "100000", "--csv").CombinedOutput()
	if err != nil {
		return latencies{}, fmt.Errorf("redis-benchmark: %v: %s", err, out)
	}
	elapsed := time.Since(start)
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(recs) < 2 {
		return latencies{}, fmt.Errorf("redis-benchmark printed no CSV table: %v: %s", err, out)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	row := recs[len(recs)-1]
	ms := func(name string) time.Duration {
		i, ok := col[name]
		if !ok || i >= len(row) {
			return 0
		}
		f, _ := strconv.ParseFloat(row[i], 64)
		return time.Duration(f * float64(time.Millisecond))
	}
	rps, _ := strconv.ParseFloat(row[col["rps"]], 64)
	l := latencies{Requests: requests, P50: ms("p50_latency_ms"), P99: ms("p99_latency_ms")}
	// Elapsed from redis-benchmark's own rate, so RPS() gives its figure exactly.
	if rps > 0 {
		l.Elapsed = time.Duration(float64(requests) / rps * float64(time.Second))
	} else {
		l.Elapsed = elapsed
	}
	return l, nil
}

// wallLine is the demo's "Wall time: 8.123s for 98000 deliveries: 11860 declarations per
// second" line.
var wallLine = regexp.MustCompile(`Wall time: (\S+) for (\d+) deliveries`)

// demoResult is what `lienthong demo --once` printed.
type demoResult struct {
	Wall       time.Duration
	Deliveries int
}

// runDemo runs `lienthong demo --once` as a process and parses its Wall time line.
func runDemo(ctx context.Context, bin string, declarations int) (demoResult, error) {
	grpcAddr, err := ports.FreeAddr()
	if err != nil {
		return demoResult{}, err
	}
	httpAddr, err := ports.FreeAddr()
	if err != nil {
		return demoResult{}, err
	}
	args := []string{"demo", "--once", "--grpc-addr", grpcAddr, "--http-addr", httpAddr}
	if declarations > 0 {
		args = append(args, "--declarations", strconv.Itoa(declarations))
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(cctx, bin, args...).CombinedOutput()
	if err != nil {
		return demoResult{}, fmt.Errorf("lienthong demo --once: %v:\n%s", err, tail(out))
	}
	m := wallLine.FindSubmatch(out)
	if m == nil {
		return demoResult{}, fmt.Errorf("lienthong demo --once printed no Wall time line:\n%s", tail(out))
	}
	wall, err := time.ParseDuration(string(m[1]))
	if err != nil {
		return demoResult{}, fmt.Errorf("demo wall time %q: %w", m[1], err)
	}
	n, _ := strconv.Atoi(string(m[2]))
	return demoResult{Wall: wall, Deliveries: n}, nil
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
