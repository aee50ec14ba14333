// Command partnersim runs the simulated partner platforms: NCOVI's declaration feed,
// tokhaiyte's CSV export and the population register on loopback ports, and a Bluezone pusher
// that posts signed batches to a gateway, all serving one generated population whose ground
// truth it can write to a file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lienthong/lienthong/adapters/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "partnersim:", err)
		os.Exit(2)
	}
}

// run generates the population, writes its ground truth, starts the partners, prints their
// URLs, pushes Bluezone's declarations when asked, and serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	pop := sim.Generate(opts.population)
	if opts.groundTruth != "" {
		if err := writeGroundTruth(pop, opts.groundTruth); err != nil {
			return err
		}
	}
	servers, err := sim.Start(ctx, pop, opts.servers)
	if err != nil {
		return err
	}
	defer servers.Shutdown(context.Background())
	sum := pop.GroundTruth().Summary
	out := json.NewEncoder(stdout)
	_ = out.Encode(map[string]any{
		"ncovi": servers.NCOVIURL(), "tokhaiyte": servers.TokhaiyteURL(), "registry": servers.RegistryURL(),
		"epoch": pop.Config.Epoch, "seed": pop.Config.Seed, "declarations": sum.Total.Versions,
		"accepted": sum.Total.Accepted, "rejected": sum.Total.Rejected, "demo_qrs": pop.DemoQRs(),
	})
	pushed := make(chan struct{})
	if opts.pushTo != "" {
		go func() {
			defer close(pushed)
			stats, err := servers.PushBluezone(ctx, opts.pushTo, opts.secret)
			stats.Results = nil // the ground truth file has the per-item detail
			report := map[string]any{"bluezone_push": stats}
			if secs := stats.Elapsed.Seconds(); secs > 0 {
				report["items_per_second"] = float64(stats.Items) / secs
			}
			if err != nil {
				report["error"] = err.Error()
			}
			_ = out.Encode(report)
		}()
	} else {
		close(pushed)
	}
	<-ctx.Done()
	<-pushed
	return json.NewEncoder(stderr).Encode(map[string]any{"partners": servers.Stats()})
}

func writeGroundTruth(pop *sim.Population, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pop.WriteGroundTruth(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
