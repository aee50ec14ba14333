package fault

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/test/procs"
	"github.com/lienthong/lienthong/test/redistest"
)

// crashDeclarations is the population of the crash test: 20,000 by default, 100,000 with
// LIENTHONG_FAULT_SOAK=1.
func crashDeclarations() int {
	if os.Getenv("LIENTHONG_FAULT_SOAK") != "" {
		return 100000
	}
	return 20000
}

// crashKills is how many times the gateway is killed.
const crashKills = 5

func TestGatewayCrashEmbedded(t *testing.T) {
	testGatewayCrash(t, "")
}

func TestGatewayCrashRedis(t *testing.T) {
	// Append-only file with fsync on every write: what a crash of the gateway must not undo
	// is in Redis once Redis has answered.
	r := redistest.Start(t, redistest.Options{AppendOnly: true, Args: []string{"--appendfsync", "always"}})
	testGatewayCrash(t, r.URL())
}

// testGatewayCrash kills the gateway with SIGKILL at random points of the ingest (pulls of
// NCOVI and tokhaiyte, Bluezone pushes), restarts it on the same data each time, and requires
// the final statistics to equal the ground truth exactly.
func testGatewayCrash(t *testing.T, redisURL string) {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("kill points drawn with seed %d", seed)
	o := gatewayOptions{name: "gw-crash", dataDir: t.TempDir(), redis: redisURL, grpcAddr: procs.FreeAddr(t), httpAddr: procs.FreeAddr(t)}
	sim := startPartnersim(t, crashDeclarations(), "http://"+o.httpAddr)
	o.ncoviURL, o.tokhaiyteURL = sim.Started.NCOVI, sim.Started.Tokhaiyte
	want := truthCounts(sim.Summary(t))
	t.Logf("ground truth: %d declarations counted in %d statistics cells (%d counter increments)", crashDeclarations(), len(want), want.total())

	start := time.Now()
	g := startGateway(t, o)
	// Kill points: random shares of the truth's total, increasing, so every kill lands in the
	// middle of the ingest.
	points := make([]float64, crashKills)
	for i := range points {
		lo := float64(i) / crashKills * 0.9
		points[i] = lo + rng.Float64()*0.9/crashKills
	}
	var restarts []time.Duration
	for i, share := range points {
		target := int64(share * float64(want.total()))
		c := g.conns.Client(t, tokMinistry)
		var at int64
		procs.Eventually(t, 3*time.Minute, fmt.Sprintf("kill %d: %d counted", i+1, target), func() (bool, string) {
			if g.Exited() {
				t.Fatalf("gateway exited on its own: %v", g.WaitErr())
			}
			got, err := readCounts(c)
			if err != nil {
				return false, err.Error()
			}
			at = got.total()
			return at >= target, fmt.Sprint(at)
		})
		g.crash()
		t.Logf("kill %d: SIGKILL at %d of %d counted (%.0f%%)", i+1, at, want.total(), 100*float64(at)/float64(want.total()))
		r0 := time.Now()
		g = startGateway(t, o)
		restarts = append(restarts, time.Since(r0))
	}
	sim.WaitPushed(t, 5*time.Minute)
	waitTruth(t, g, want, 5*time.Minute)
	t.Logf("after %d kills the statistics equal the ground truth in all %d cells (%d counts); total %v; restart-to-ready times %v",
		crashKills, len(want), want.total(), time.Since(start).Round(time.Millisecond), restarts)

	// Cursors resumed: the last process pulled only what was left, not everything again.
	r, err := g.readyz()
	if err != nil {
		t.Fatal(err)
	}
	sum := sim.Summary(t)
	for _, p := range []string{"ncovi", "tokhaiyte"} {
		_, _, pulled, ok := r.pullDetail(p)
		if !ok {
			t.Fatalf("/readyz has no pull:%s check", p)
		}
		all := int64(sum.Platforms[canonical.Platform(p)].Versions)
		t.Logf("%s: the last gateway process pulled %d of %d record versions", p, pulled, all)
		if pulled >= all {
			t.Errorf("%s: the last gateway process pulled %d of %d versions: the cursor was not resumed", p, pulled, all)
		}
	}
}
