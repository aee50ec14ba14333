package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/keys"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/test/procs"
	"github.com/lienthong/lienthong/test/redistest"
)

// ingestDeadline bounds a whole ingest of a test population (a few seconds on a laptop).
const ingestDeadline = 90 * time.Second

// world is one running deployment: the partners' feeds, the gateway pulling them, and a
// second partnersim of the same population pushing Bluezone's batches to the gateway (the
// gateway's URL is only known once it runs, and the feeds' URLs must be known before).
type world struct {
	feeds, pusher *procs.Sim
	gw            *gatewayProc
	truth         *truth
	dataDir       string
	started       time.Time
}

type worldOptions struct {
	declarations int
	seed         int64
	redis        string
	feedFlags    []string // partnersim flags of the feeds (latency)
	pushFlags    []string // partnersim flags of the pusher (rate)
	ncoviPage    int
}

func startWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	// The population's "now" is the test's: the gateway judges declarations and statuses by
	// its own clock, so the epoch must be the present (to the second, as partnersim prints it).
	epoch := time.Now().UTC().Truncate(time.Second)
	w := &world{dataDir: t.TempDir()}
	w.feeds = startPartnersim(t, "partnersim-feeds", simOptions{declarations: o.declarations, seed: o.seed, epoch: epoch, extra: o.feedFlags})
	w.truth = loadTruth(t, w.feeds.GroundTruth)
	w.started = time.Now()
	w.gw = startGateway(t, "gateway", gatewayOptions{dataDir: w.dataDir, redis: o.redis,
		ncoviURL: w.feeds.Started.NCOVI, tokhaiyteURL: w.feeds.Started.Tokhaiyte, ncoviPageSize: o.ncoviPage})
	w.pusher = startPartnersim(t, "partnersim-bluezone", simOptions{declarations: o.declarations, seed: o.seed, epoch: epoch,
		pushTo: w.gw.httpURL(), extra: o.pushFlags})
	if w.pusher.Started.Declarations != w.feeds.Started.Declarations {
		t.Fatalf("the two partnersims generated different populations: %d and %d declarations", w.pusher.Started.Declarations, w.feeds.Started.Declarations)
	}
	return w
}

// waitComplete waits until Bluezone's pusher is done and the gateway counted everything.
func (w *world) waitComplete(t *testing.T, g *gatewayProc) time.Duration {
	t.Helper()
	w.pusher.WaitPushed(t, ingestDeadline)
	waitIngested(t, g, w.truth, ingestDeadline)
	return time.Since(w.started)
}

// stopGateway stops g with SIGTERM and requires exit code 0 within the deadline.
func stopGateway(t *testing.T, g *gatewayProc) {
	t.Helper()
	if code := g.Stop(t); code != 0 {
		t.Errorf("%s exited with code %d after SIGTERM, want 0:\n%s", g.Name, code, procs.TailFile(g.StderrPath, 4<<10))
	}
	t.Logf("%s stopped %v after SIGTERM", g.Name, g.StopDuration.Round(time.Millisecond))
}

func TestPopulationMatchesGroundTruth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		redis bool
	}{
		{"embedded", false},
		// The same deployment on a Redis server the test starts itself (never skipped: a
		// missing redis-server fails the test, as test/redistest rules).
		{"redis", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := worldOptions{declarations: 6000, seed: 7}
			if tc.redis {
				o.redis = redistest.Start(t, redistest.Options{}).URL()
			}
			w := startWorld(t, o)
			ingest := w.waitComplete(t, w.gw)
			compared, made := checkAgainstTruth(t, w.gw, w.truth)
			s := w.truth.summary
			t.Logf("%s: %d record versions (%d accepted, %d rejected), %d identities (%d inconsistent); ingested in %v; %d accepted declarations compared one by one",
				tc.name, s.Total.Versions, s.Total.Accepted, s.Total.Rejected, s.Identities, s.InconsistentIdentity, ingest.Round(time.Millisecond), compared)
			stopGateway(t, w.gw)

			// Every read of personal data is in the access log, also the lookups still
			// queued for the log when SIGTERM came: read it back from a new process.
			g2 := startGateway(t, "gateway-reopened", gatewayOptions{dataDir: w.dataDir, redis: o.redis,
				ncoviURL: w.feeds.Started.NCOVI, tokhaiyteURL: w.feeds.Started.Tokhaiyte})
			got := countAccesses(t, g2.conns.Client(t, tokMinistry))
			want := map[string]int{"lookup": made.lookups, "history": made.histories}
			if got["lookup"] != want["lookup"] || got["history"] != want["history"] || len(got) != len(want) {
				t.Errorf("access log after restart: %v, want %v (one entry per successful lookup and history read)", got, want)
			}
			t.Logf("access log: %v entries survived the restart", got)
			stopGateway(t, g2)
		})
	}
}

func TestLookupFormsAgree(t *testing.T) {
	w := startWorld(t, worldOptions{declarations: 1500, seed: 11})
	w.waitComplete(t, w.gw)
	if len(w.truth.demo) == 0 {
		t.Fatal("the ground truth has no demo QRs")
	}
	d := deriverOf(t, w.dataDir)
	platformsOf := map[string][]canonical.Platform{}
	for _, id := range w.truth.identities {
		platformsOf[id.Key] = id.Platforms
	}
	checkpoint := w.gw.conns.Client(t, tokCheckpoint)
	lookup := func(t *testing.T, qr string) (*lienthongv1.LookupResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return checkpoint.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: qr})
	}
	for _, q := range w.truth.demo {
		t.Run(string(q.Role), func(t *testing.T) {
			qrid := d.QRID(parseKey(t, q.IdentityKey))
			platforms := platformsOf[q.IdentityKey]
			if len(platforms) == 0 {
				t.Fatalf("demo identity %s is not among the truth's identities", q.IdentityKey)
			}
			// The signed QR as a partner app gets it: `lienthong qr` with that platform's token.
			var signed lienthongv1.GetSignedQRResponse
			runCLI(t, []string{"LIENTHONG_TOKEN=" + suite.PartnerToken(platforms[0])}, &signed, "qr", "--addr", w.gw.grpcAddr, "-o", "json", qrid)
			if signed.GetQrId() != qrid || !strings.HasPrefix(signed.GetSignedQr(), "LT1.") {
				t.Fatalf("lienthong qr %s = %v", qrid, &signed)
			}
			fields := strings.Split(q.Personal1405, "|")
			if len(fields) != 6 {
				t.Fatalf("1405 QR %q has %d fields, want 6", q.Personal1405, len(fields))
			}
			fields[4] = qrid // QID: the gateway's QR id, as a 1405 app that knows it prints it
			forms := []struct {
				name string
				qr   string
				form lienthongv1.QRForm
			}{
				{"signed", signed.GetSignedQr(), lienthongv1.QRForm_QR_FORM_SIGNED},
				{"qr id", qrid, lienthongv1.QRForm_QR_FORM_QR_ID},
				{"1405", strings.Join(fields, "|"), lienthongv1.QRForm_QR_FORM_PERSONAL_1405},
				{"chip card", q.ChipCard, lienthongv1.QRForm_QR_FORM_CHIP_CARD},
			}
			for _, f := range forms {
				if f.qr == "" {
					continue // no chip card: the person holds no CCCD
				}
				l, err := lookup(t, f.qr)
				if err != nil {
					t.Errorf("%s form %q: %v", f.name, f.qr, err)
					continue
				}
				if l.GetQrId() != qrid || l.GetQrForm() != f.form || l.GetStatus().String() != "STATUS_"+q.Status ||
					l.GetFlags().GetUnverifiedIdentity() == q.Verified || l.GetFlags().GetInconsistent() != q.Inconsistent {
					t.Errorf("%s form: qr_id %s (want %s), form %v (want %v), status %v (want %s), flags %v (want verified %v, inconsistent %v)",
						f.name, l.GetQrId(), qrid, l.GetQrForm(), f.form, l.GetStatus(), q.Status, l.GetFlags(), q.Verified, q.Inconsistent)
				}
			}
			// The checkpoint's command line agrees.
			var cli lienthongv1.LookupResponse
			runCLI(t, []string{"LIENTHONG_TOKEN=" + tokCheckpoint}, &cli, "lookup", "--addr", w.gw.grpcAddr, "-o", "json", signed.GetSignedQr())
			if cli.GetQrId() != qrid || cli.GetStatus().String() != "STATUS_"+q.Status {
				t.Errorf("lienthong lookup: qr_id %s status %v, want %s %s", cli.GetQrId(), cli.GetStatus(), qrid, q.Status)
			}

			forged := []byte(signed.GetSignedQr())
			// Flip one character of the signature (the end of the text).
			if forged[len(forged)-5] == 'A' {
				forged[len(forged)-5] = 'B'
			} else {
				forged[len(forged)-5] = 'A'
			}
			// The gateway's own signing key, read from its data folder with a clock two hours
			// back: a QR it signs expired an hour ago. The same key with the real clock gives a
			// QR that is accepted, so the refusal is the expiry's alone.
			past, _, err := keys.OpenRing(w.dataDir, keys.Options{Validity: time.Hour, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
			if err != nil {
				t.Fatal(err)
			}
			expired, err := past.Issue(qrid)
			if err != nil {
				t.Fatal(err)
			}
			current, _, err := keys.OpenRing(w.dataDir, keys.Options{Validity: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := current.Issue(qrid)
			if err != nil {
				t.Fatal(err)
			}
			if l, err := lookup(t, fresh); err != nil || l.GetQrId() != qrid {
				t.Fatalf("a QR freshly signed with the gateway's key: %v %v", l, err)
			}
			for _, bad := range []struct{ name, qr string }{{"forged", string(forged)}, {"expired", expired}} {
				_, err := lookup(t, bad.qr)
				if status.Code(err) != codes.InvalidArgument || !hasFieldViolation(err, "qr") {
					t.Errorf("%s signed QR: %v, want InvalidArgument with a violation on field qr", bad.name, err)
				}
			}
		})
	}
}

// runCLI runs the lienthong binary as an operator would and reads its JSON output into out.
func runCLI(t *testing.T, env []string, out proto.Message, args ...string) {
	t.Helper()
	cmd := exec.Command(bins.Lienthong, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lienthong %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := protojson.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("lienthong %s: output is not %T JSON: %v\n%s", args[0], out, err, stdout.String())
	}
}

func hasFieldViolation(err error, field string) bool {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

func TestGracefulShutdown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"embedded", false}, {"redis", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var redis string
			if tc.redis {
				// AppendOnly off: the Redis server itself stays up; only the gateway restarts.
				redis = redistest.Start(t, redistest.Options{}).URL()
			}
			testGracefulShutdown(t, redis)
		})
	}
}

// testGracefulShutdown sends SIGTERM during an ingest, requires exit code 0, restarts the
// gateway on the same data folder (and Redis) and requires the final state to match the truth.
func testGracefulShutdown(t *testing.T, redis string) {
	// Bluezone pushes at most 300 declarations a second in batches of 50 and NCOVI answers
	// pages of 50 after 50 ms: the ingest lasts seconds however fast the machine is, so the
	// SIGTERM lands during it.
	w := startWorld(t, worldOptions{declarations: 3000, seed: 5, ncoviPage: 50, redis: redis,
		feedFlags: []string{"--ncovi-latency", "50ms", "--tokhaiyte-latency", "50ms"},
		pushFlags: []string{"--rate", "300", "--batch-size", "50"}})
	want := cells(w.truth.expectedStats())
	ministry := w.gw.conns.Client(t, tokMinistry)
	var before int
	procs.Eventually(t, ingestDeadline, "ingest under way (Bluezone and NCOVI declarations counted)", func() (bool, string) {
		got, err := readStats(ministry)
		if err != nil {
			return false, err.Error()
		}
		before = cells(got)
		return got[canonical.PlatformBluezone].Accepted > 0 && got[canonical.PlatformNCOVI].Accepted > 0, fmtCounts(map[string]int{"counted": before})
	})
	if before >= want {
		t.Fatalf("the ingest was complete (%d of %d) before SIGTERM: nothing tested", before, want)
	}
	stopGateway(t, w.gw)
	t.Logf("SIGTERM after %d of %d counted", before, want)

	// The same data folder and addresses: Bluezone's pusher retries into the new process.
	g2 := startGateway(t, "gateway-restarted", gatewayOptions{dataDir: w.dataDir, redis: redis, grpcAddr: w.gw.grpcAddr, httpAddr: w.gw.httpAddr,
		ncoviURL: w.feeds.Started.NCOVI, tokhaiyteURL: w.feeds.Started.Tokhaiyte, ncoviPageSize: 50})
	after, err := readStats(g2.conns.Client(t, tokMinistry))
	if err != nil {
		t.Fatal(err)
	}
	if cells(after) < before {
		t.Errorf("after the restart the gateway counts %d, fewer than the %d counted before SIGTERM", cells(after), before)
	}
	ingest := w.waitComplete(t, g2)
	compared, _ := checkAgainstTruth(t, g2, w.truth)
	t.Logf("restart resumed at %d of %d; complete %v after the first start; %d accepted declarations compared", cells(after), want, ingest.Round(time.Millisecond), compared)
	stopGateway(t, g2)
}
