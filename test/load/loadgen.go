package main

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// bearer sends a bearer token with every call (plain loopback: a benchmark only).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// pool is a fixed set of client connections shared by the workers of one run.
type pool []*grpc.ClientConn

func dialPool(addr, token string, n int) (pool, error) {
	var p pool
	for i := 0; i < n; i++ {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(bearer(token)),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
		if err != nil {
			p.close()
			return nil, err
		}
		p = append(p, cc)
	}
	return p, nil
}

func (p pool) close() {
	for _, cc := range p {
		cc.Close()
	}
}

// latencies summarizes one closed-loop run.
type latencies struct {
	Requests, Errors int
	Elapsed          time.Duration
	P50, P99, P999   time.Duration
	FirstError       error
	sorted           []time.Duration // every request's latency, for plus
}

// plus is the summary of two runs as one: requests, errors and time add up, and the
// quantiles are those of both runs' requests together.
func (l latencies) plus(m latencies) latencies {
	all := make([]time.Duration, 0, len(l.sorted)+len(m.sorted))
	all = append(append(all, l.sorted...), m.sorted...)
	slices.Sort(all)
	first := l.FirstError
	if first == nil {
		first = m.FirstError
	}
	return summarize(all, l.Errors+m.Errors, l.Elapsed+m.Elapsed, first)
}

// summarize is the summary of a run's sorted latencies.
func summarize(sorted []time.Duration, errors int, elapsed time.Duration, first error) latencies {
	return latencies{
		Requests: len(sorted), Errors: errors, Elapsed: elapsed, FirstError: first, sorted: sorted,
		P50: quantile(sorted, 0.50), P99: quantile(sorted, 0.99), P999: quantile(sorted, 0.999),
	}
}

// RPS is completed requests (errors included) per second.
func (l latencies) RPS() float64 {
	if l.Elapsed <= 0 {
		return 0
	}
	return float64(l.Requests) / l.Elapsed.Seconds()
}

// call is one request of a closed loop; worker is the caller's index and rng its own source.
type call func(ctx context.Context, worker int, rng *rand.Rand) error

// loops counts closedLoop's runs: each run's workers draw from sources seeded with it, so that
// a round does not replay the requests of the rounds before it (a store that caches what it
// was asked would then answer a run of repeats).
var loops atomic.Uint64

// closedLoop runs workers goroutines, each sending its next request as soon as the previous
// one is answered, for dur, and measures every request's latency.
func closedLoop(ctx context.Context, workers int, dur time.Duration, fn call) latencies {
	run := loops.Add(1)
	var (
		mu     sync.Mutex
		all    []time.Duration
		errors int
		first  error
		wg     sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(dur)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 0x6c6f6164^run<<32))
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			var firstErr error
			for ctx.Err() == nil {
				t := time.Now()
				if t.After(deadline) {
					break
				}
				err := fn(ctx, w, rng)
				lat = append(lat, time.Since(t))
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			errors += errs
			if first == nil {
				first = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	return summarize(all, errors, elapsed, first)
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}
