package fault

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/test/procs"
	"github.com/lienthong/lienthong/test/redistest"
)

// lookupDeadline is the deadline a checkpoint app gives each lookup.
const lookupDeadline = 2 * time.Second

// someoneQR is a chip-card QR: its lookup reads the store whether or not the person is known.
const someoneQR = "079090001234||Nguyễn Văn An|17051990|Nam|12 Lê Lợi, Quận 1, TP. Hồ Chí Minh|01072021"

// lookupCall is one lookup of the load.
type lookupCall struct {
	start   time.Time
	latency time.Duration
	code    codes.Code
}

// lookupLoad runs workers that look someoneQR up in a loop until stop is closed.
type lookupLoad struct {
	mu    sync.Mutex
	calls []lookupCall
	wg    sync.WaitGroup
	stop  chan struct{}
}

func startLookupLoad(c procs.Clients, workers int) *lookupLoad {
	l := &lookupLoad{stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), lookupDeadline)
				t0 := time.Now()
				_, err := c.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: someoneQR})
				cancel()
				call := lookupCall{start: t0, latency: time.Since(t0), code: status.Code(err)}
				l.mu.Lock()
				l.calls = append(l.calls, call)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *lookupLoad) finish() []lookupCall {
	close(l.stop)
	l.wg.Wait()
	return l.calls
}

// TestRedisOutage stops Redis for about 10 s under lookups and partner ingest: lookups fail
// fast with UNAVAILABLE, the pull cursors stay put, and after Redis comes back the gateway
// recovers by itself and the final state matches the ground truth.
func TestRedisOutage(t *testing.T) {
	r := redistest.Start(t, redistest.Options{AppendOnly: true, Args: []string{"--appendfsync", "always"}})
	o := gatewayOptions{name: "gw-outage", dataDir: t.TempDir(), redis: r.URL(), grpcAddr: procs.FreeAddr(t), httpAddr: procs.FreeAddr(t)}
	sim := startPartnersim(t, 20000, "http://"+o.httpAddr, "--rate", "2000")
	o.ncoviURL, o.tokhaiyteURL = sim.Started.NCOVI, sim.Started.Tokhaiyte
	want := truthCounts(sim.Summary(t))
	g := startGateway(t, o)
	ministry := g.conns.Client(t, tokMinistry)
	load := startLookupLoad(g.conns.Client(t, tokCheckpoint), 4)

	// Stop Redis in the middle of the ingest.
	procs.Eventually(t, 2*time.Minute, "a third of the ingest", func() (bool, string) {
		got, err := readCounts(ministry)
		if err != nil {
			return false, err.Error()
		}
		return got.total() >= want.total()/3, fmt.Sprint(got.total())
	})
	pulledAt := func() map[string]int64 {
		rz, err := g.readyz()
		if err != nil {
			t.Fatalf("/readyz: %v", err)
		}
		out := map[string]int64{}
		for _, p := range []string{"ncovi", "tokhaiyte"} {
			_, _, n, _ := rz.pullDetail(p)
			out[p] = n
		}
		return out
	}
	stopAt := time.Now()
	r.Stop()
	// Once a lookup has failed, whatever was in flight has ended: from then on nothing may
	// be committed.
	procs.Eventually(t, 10*time.Second, "a lookup failing after Redis stopped", func() (bool, string) {
		load.mu.Lock()
		defer load.mu.Unlock()
		for _, c := range load.calls {
			if c.start.After(stopAt) && c.code != codes.OK {
				return true, ""
			}
		}
		return false, "all lookups succeed"
	})
	before := pulledAt()
	outageEnd := stopAt.Add(10 * time.Second)
	procs.Eventually(t, 15*time.Second, "the outage's 10 s", func() (bool, string) {
		if g.Exited() {
			t.Fatalf("gateway exited during the Redis outage: %v", g.WaitErr())
		}
		return time.Now().After(outageEnd), ""
	})
	after := pulledAt()
	for p := range before {
		if after[p] != before[p] {
			t.Errorf("%s: %d declarations committed while Redis was down (pulled %d → %d)", p, after[p]-before[p], before[p], after[p])
		}
	}
	restartAt := time.Now()
	r.Restart()
	var firstOK time.Duration
	procs.Eventually(t, 30*time.Second, "a successful lookup after Redis restarted", func() (bool, string) {
		load.mu.Lock()
		defer load.mu.Unlock()
		for _, c := range load.calls {
			if c.start.After(restartAt) && c.code == codes.OK {
				firstOK = c.start.Add(c.latency).Sub(restartAt)
				return true, ""
			}
		}
		return false, "no lookup succeeded yet"
	})
	calls := load.finish()

	var failed, okDuring int
	var maxFailed time.Duration
	byCode := map[codes.Code]int{}
	for _, c := range calls {
		if c.start.Before(stopAt) || c.start.After(restartAt) {
			continue
		}
		if c.code == codes.OK {
			okDuring++
			continue
		}
		failed++
		byCode[c.code]++
		maxFailed = max(maxFailed, c.latency)
	}
	t.Logf("Redis down %v: %d lookups failed (%v), %d succeeded (in flight before the stop or cached), max latency of a failed lookup %v (deadline %v)",
		restartAt.Sub(stopAt).Round(time.Millisecond), failed, byCode, okDuring, maxFailed.Round(time.Microsecond), lookupDeadline)
	t.Logf("first successful lookup %v after Redis restarted (target ≤ 5 s); pulled during the outage: before %v, after %v", firstOK.Round(time.Millisecond), before, after)
	if byCode[codes.Unavailable] == 0 || len(byCode) != 1 {
		t.Errorf("lookups during the outage failed with %v, want UNAVAILABLE only", byCode)
	}
	if maxFailed >= lookupDeadline {
		t.Errorf("a failed lookup took %v: it hung until its deadline instead of failing fast", maxFailed)
	}
	if firstOK > 5*time.Second {
		t.Errorf("first successful lookup %v after Redis restarted, target ≤ 5 s", firstOK)
	}
	sim.WaitPushed(t, 5*time.Minute)
	waitTruth(t, g, want, 5*time.Minute)
	t.Logf("final statistics equal the ground truth in all %d cells (%d counts)", len(want), want.total())
}
