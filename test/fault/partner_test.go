package fault

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/sim"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/test/procs"
)

// TestPartnerFaults makes NCOVI answer 500s, 429s and truncated pages throughout and go down
// (503) for a window: its breaker opens (as /readyz shows), Bluezone's and tokhaiyte's ingest
// completes meanwhile, lookups keep working, the breaker closes after NCOVI recovers, and
// nothing is lost. Hanging requests (--ncovi-timeout-rate) cost the adapter's 30 s page
// timeout each, so they run only with LIENTHONG_FAULT_SOAK=1.
func TestPartnerFaults(t *testing.T) {
	const downFrom, downUntil = 2 * time.Second, 40 * time.Second
	faults := []string{"--ncovi-error-rate", "0.1", "--ncovi-429-rate", "0.1", "--ncovi-truncate-rate", "0.05",
		"--ncovi-down", fmt.Sprintf("+%v,+%v", downFrom, downUntil)}
	if os.Getenv("LIENTHONG_FAULT_SOAK") != "" {
		faults = append(faults, "--ncovi-timeout-rate", "0.05")
	}
	o := gatewayOptions{name: "gw-partner", dataDir: t.TempDir(), grpcAddr: procs.FreeAddr(t), httpAddr: procs.FreeAddr(t)}
	simStart := time.Now()
	ps := startPartnersim(t, 20000, "http://"+o.httpAddr, faults...)
	o.ncoviURL, o.tokhaiyteURL = ps.Started.NCOVI, ps.Started.Tokhaiyte
	want := truthCounts(ps.Summary(t))
	g := startGateway(t, o)
	ministry, checkpoint := g.conns.Client(t, tokMinistry), g.conns.Client(t, tokCheckpoint)

	breaker := func() string {
		rz, err := g.readyz()
		if err != nil {
			return "unreachable: " + err.Error()
		}
		b, _, _, ok := rz.pullDetail("ncovi")
		if !ok {
			t.Fatal("/readyz has no pull:ncovi check")
		}
		return b
	}
	procs.Eventually(t, downUntil+5*time.Second, "NCOVI's breaker opening while NCOVI is down", func() (bool, string) {
		b := breaker()
		return b == "open", b
	})
	openedAt := time.Since(simStart)
	t.Logf("NCOVI breaker open %v after partnersim started (NCOVI down from +%v to +%v)", openedAt.Round(time.Millisecond), downFrom, downUntil)

	// While NCOVI's breaker is open: lookups answer, the other partners' ingest completes.
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := checkpoint.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: someoneQR})
		cancel()
		if err != nil {
			t.Fatalf("lookup %d while NCOVI's breaker is open: %v", i, err)
		}
	}
	others := counts{}
	for k, v := range want {
		if !strings.HasPrefix(k, "ncovi ") {
			others[k] = v
		}
	}
	procs.Eventually(t, 2*time.Minute, "Bluezone's and tokhaiyte's ingest completing", func() (bool, string) {
		got, err := readCounts(ministry)
		if err != nil {
			return false, err.Error()
		}
		var n int64
		for k := range others {
			n += got[k]
		}
		return n >= others.total(), fmt.Sprintf("%d of %d", n, others.total())
	})
	othersDone := time.Since(simStart)
	stillOpen := breaker()
	t.Logf("Bluezone and tokhaiyte complete (%d counts) %v after start; NCOVI's breaker then %q", others.total(), othersDone.Round(time.Millisecond), stillOpen)

	procs.Eventually(t, 2*time.Minute, "NCOVI's breaker closing after NCOVI recovered", func() (bool, string) {
		b := breaker()
		return b == "closed" && time.Since(simStart) > downUntil, b
	})
	t.Logf("NCOVI breaker closed again %v after start (%v after NCOVI came back)", time.Since(simStart).Round(time.Millisecond), (time.Since(simStart) - downUntil).Round(time.Millisecond))

	ps.WaitPushed(t, 5*time.Minute)
	waitTruth(t, g, want, 5*time.Minute)
	t.Logf("final statistics equal the ground truth in all %d cells (%d counts) in %v", len(want), want.total(), time.Since(simStart).Round(time.Millisecond))

	// What partnersim's NCOVI answered (its last stderr line, at exit).
	ps.Stop(t)
	if line := procs.FindLine(ps.StderrPath, func(l []byte) bool { return strings.Contains(string(l), `"partners"`) }); line != nil {
		var st struct {
			Partners map[string]sim.PartnerStats `json:"partners"`
		}
		if json.Unmarshal(line, &st) == nil {
			t.Logf("NCOVI answered: %+v", st.Partners["ncovi"])
		}
	}
}
