package fault

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/pull"
	"github.com/lienthong/lienthong/test/procs"
	"github.com/lienthong/lienthong/test/redistest"
)

// TestReplicaFailover runs two gateways on one Redis, SIGKILLs the one holding the pull
// leases in the middle of the pulls, and requires the other to take both over within the
// lease time and the final state to match the ground truth.
func TestReplicaFailover(t *testing.T) {
	r := redistest.Start(t, redistest.Options{AppendOnly: true, Args: []string{"--appendfsync", "always"}})
	a := gatewayOptions{name: "gw-a", dataDir: t.TempDir(), redis: r.URL(), grpcAddr: procs.FreeAddr(t), httpAddr: procs.FreeAddr(t), ncoviPageSize: 100}
	b := gatewayOptions{name: "gw-b", redis: r.URL(), grpcAddr: procs.FreeAddr(t), httpAddr: procs.FreeAddr(t), ncoviPageSize: 100}
	// Bluezone pushes to B, the replica that survives; the pulls are slowed so the kill lands
	// in their middle.
	ps := startPartnersim(t, 20000, "http://"+b.httpAddr, "--ncovi-latency", "100ms", "--tokhaiyte-latency", "300ms")
	a.ncoviURL, a.tokhaiyteURL = ps.Started.NCOVI, ps.Started.Tokhaiyte
	b.ncoviURL, b.tokhaiyteURL = a.ncoviURL, a.tokhaiyteURL
	want := truthCounts(ps.Summary(t))

	// A starts first and takes both leases.
	ga := startGateway(t, a)
	holds := func(g *gatewayProc) (int, string) {
		rz, err := g.readyz()
		if err != nil {
			return 0, err.Error()
		}
		n, desc := 0, []string{}
		for _, p := range []string{"ncovi", "tokhaiyte"} {
			_, h, _, _ := rz.pullDetail(p)
			if h {
				n++
			}
			desc = append(desc, fmt.Sprintf("%s:%v", p, h))
		}
		return n, strings.Join(desc, " ")
	}
	procs.Eventually(t, 30*time.Second, "gw-a holding both pull leases", func() (bool, string) {
		n, d := holds(ga)
		return n == 2, d
	})
	// Every replica needs the same identity secret and signing keys: B uses A's data folder.
	b.dataDir = a.dataDir
	gb := startGateway(t, b)
	if n, d := holds(gb); n != 0 {
		t.Fatalf("gw-b holds leases while gw-a does: %s", d)
	}
	ministry := gb.conns.Client(t, tokMinistry)
	procs.Eventually(t, 2*time.Minute, "a fifth of NCOVI's records counted", func() (bool, string) {
		got, err := readCounts(ministry)
		if err != nil {
			return false, err.Error()
		}
		var n, w int64
		for k, v := range want {
			if strings.HasPrefix(k, "ncovi ") {
				n, w = n+got[k], w+v
			}
		}
		return n >= w/5, fmt.Sprintf("%d of %d", n, w)
	})
	before, _ := readCounts(ministry)
	ga.crash()
	killed := time.Now()
	t.Logf("SIGKILL gw-a holding both leases at %d of %d counted", before.total(), want.total())
	procs.Eventually(t, 2*pull.DefaultLeaseTTL, "gw-b taking both leases over", func() (bool, string) {
		n, d := holds(gb)
		return n == 2, d
	})
	takeover := time.Since(killed)
	t.Logf("gw-b holds both leases %v after the kill (lease TTL %v)", takeover.Round(time.Millisecond), pull.DefaultLeaseTTL)
	// The lease lapses at most LeaseTTL after the holder's last renewal, and a replica that
	// does not hold it tries again every LeaseTTL/15: the takeover is bounded by their sum.
	if bound := pull.DefaultLeaseTTL + pull.DefaultLeaseTTL/15 + time.Second; takeover > bound {
		t.Errorf("takeover took %v, more than the lease TTL %v plus the standby's retry interval %v", takeover, pull.DefaultLeaseTTL, pull.DefaultLeaseTTL/15)
	}
	ps.WaitPushed(t, 5*time.Minute)
	waitTruth(t, gb, want, 5*time.Minute)
	t.Logf("final statistics on gw-b equal the ground truth in all %d cells (%d counts)", len(want), want.total())
}
