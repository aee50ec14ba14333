package boltstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/store"
)

// growBase is a store file of BOLTSTORE_GROW_BASE declarations (default 1,200,000: about
// 500,000 identities) kept in the temp folder across runs (it takes minutes to build).
func growBase(b *testing.B) string {
	n := 1_200_000
	if v, err := strconv.Atoi(os.Getenv("BOLTSTORE_GROW_BASE")); err == nil {
		n = v
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("boltstore-grow-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	s, err := Open(path+".tmp", Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	items := simItems(1, n)
	for i := 0; i < len(items); i += 1000 {
		if _, err := s.WriteBatch(context.Background(), items[i:min(len(items), i+1000)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// growNext are the declarations written after growBase: another population's.
var growNext = sync.OnceValue(func() []store.Item { return simItems(3, 200_000) })

// BenchmarkIngestLargeStreams is the late part of the load harness's preload without gRPC:
// writers send 200,000 declarations in batches, with fsync, into a copy of a large store
// (growBase). One op is the whole run. Four writers of 1,000 are four streams writing one
// message at a time, of 2,000 and 4,000 four streams writing two or four messages together
// (the gateway's streamAhead), and the store commits what the writers have waiting
// together, up to its group's limit (decl/commit).
func BenchmarkIngestLargeStreams(b *testing.B) {
	base := growBase(b)
	items := growNext()
	for _, run := range []struct{ writers, batch int }{{4, 1000}, {4, 2000}, {4, 4000}, {8, 1000}} {
		writers, batch := run.writers, run.batch
		b.Run(fmt.Sprintf("writers=%d/batch=%d", writers, batch), func(b *testing.B) {
			var pages, commits int64
			var cpu, write, spill, elapsed time.Duration
			for i := 0; i < b.N; i++ {
				path := filepath.Join(b.TempDir(), "grow.db")
				if err := copyFile(path, base); err != nil {
					b.Fatal(err)
				}
				s, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				before := s.db.Stats()
				cpu0 := cpuTime()
				t0 := time.Now()
				writeConcurrently(b, s, items, writers, batch)
				elapsed += time.Since(t0)
				cpu += cpuTime() - cpu0
				after := s.db.Stats()
				d := after.TxStats.Sub(&before.TxStats)
				pages += d.GetWrite()
				write += d.GetWriteTime()
				spill += d.GetSpillTime()
				commits += s.group.commits.Load()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N * len(items))
			b.ReportMetric(n/elapsed.Seconds(), "decl/s")
			b.ReportMetric(cpu.Seconds()*1e6/n, "cpu-µs/decl")
			b.ReportMetric(float64(pages)/n, "pages/decl")
			b.ReportMetric(write.Seconds()*1e6/n, "write-µs/decl")
			b.ReportMetric(spill.Seconds()*1e6/n, "spill-µs/decl")
			b.ReportMetric(n/float64(commits), "decl/commit")
		})
	}
}
