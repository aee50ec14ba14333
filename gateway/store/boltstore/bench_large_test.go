package boltstore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway/store"
)

// simItems returns n declarations of the simulator (seed picks the population) as the
// gateway's pipeline makes them (normalized, validated, keyed), in the harness's order: the
// platforms' records interleaved a batch of 1,000 at a time, as four ingest streams send them.
func simItems(seed int64, n int) []store.Item {
	deriver, err := identity.NewDeriver([]byte("lienthong-bench-identity-secret!"))
	if err != nil {
		panic(err) // the secret is long enough
	}
	epoch := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	pop := sim.Generate(sim.Config{Seed: seed, Declarations: n, Epoch: epoch})
	byPlatform := map[canonical.Platform][]store.Item{}
	for _, r := range pop.Records {
		d := canonical.Normalize(r.Typed)
		d.Source.RecordID = fmt.Sprintf("s%d-%s", seed, d.Source.RecordID)
		d.ReceivedAt = epoch
		var it store.Item
		if vs := canonical.Validate(d, epoch); len(vs) > 0 {
			it = store.Item{Rejected: &store.Rejected{Declaration: d, Violations: vs}}
		} else if der, ok := deriver.Derive(d.Person); !ok {
			it = store.Item{Rejected: &store.Rejected{Declaration: d, Violations: []canonical.Violation{{Field: "person.phone", Reason: canonical.ReasonRequired}}}}
		} else {
			it = store.Item{Accepted: &store.Accepted{Declaration: d, QRID: der.QRID, Verified: der.Verified, Aliases: der.Aliases}}
		}
		byPlatform[r.Platform] = append(byPlatform[r.Platform], it)
	}
	var out []store.Item
	for start := 0; len(out) < len(pop.Records); start += 1000 {
		for _, p := range []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte} {
			its := byPlatform[p]
			if start < len(its) {
				out = append(out, its[start:min(len(its), start+1000)]...)
			}
		}
	}
	return out
}

// largeStore is a file of 200,000 identities (480,000 simulated declarations) built once per
// test binary and copied for each benchmark run, and the declarations written after it.
var largeStore struct {
	once sync.Once
	path string
	next []store.Item
	err  error
}

const largeDeclarations = 480_000

func largeStoreCopy(b *testing.B) string {
	largeStore.once.Do(func() {
		dir, err := os.MkdirTemp("", "boltstore-large")
		if err != nil {
			largeStore.err = err
			return
		}
		largeStore.path = filepath.Join(dir, "large.db")
		s, err := Open(largeStore.path, Options{NoSync: true})
		if err != nil {
			largeStore.err = err
			return
		}
		items := simItems(1, largeDeclarations)
		for i := 0; i < len(items); i += 1000 {
			if _, err := s.WriteBatch(context.Background(), items[i:min(len(items), i+1000)]); err != nil {
				largeStore.err = err
				return
			}
		}
		largeStore.err = s.Close()
		largeStore.next = simItems(2, 100_000)
	})
	if largeStore.err != nil {
		b.Fatal(largeStore.err)
	}
	dst := filepath.Join(b.TempDir(), "large.db")
	if err := copyFile(dst, largeStore.path); err != nil {
		b.Fatal(err)
	}
	return dst
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BenchmarkWriteBatch1000Large writes the simulator's declarations in batches of 1,000 (the
// gateway's largest) into a store that already holds 200,000 identities, with fsync: the
// cost of ingest once the buckets are large. pages/decl is bbolt's pages written per
// declaration.
func BenchmarkWriteBatch1000Large(b *testing.B) {
	path := largeStoreCopy(b)
	s, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	items := largeStore.next
	if b.N*1000 > len(items) {
		b.Fatalf("b.N = %d batches is more than the %d prepared", b.N, len(items)/1000)
	}
	ctx := context.Background()
	before := s.db.Stats()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.WriteBatch(ctx, items[i*1000:(i+1)*1000]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	after := s.db.Stats()
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "decl/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/float64(b.N*1000), "cpu-µs/decl")
	reportTxStats(b, before, after, b.N*1000)
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportTxStats(b *testing.B, before, after bolt.Stats, n int) {
	d := after.TxStats.Sub(&before.TxStats)
	b.ReportMetric(float64(d.GetWrite())/float64(n), "pages/decl")
}

// ingestItems are 240,000 simulated declarations (100,000 identities), made once.
var ingestItems = sync.OnceValue(func() []store.Item { return simItems(1, 240_000) })

// BenchmarkIngest4Streams is the load harness's preload without gRPC: four writers send the
// simulator's 240,000 declarations (100,000 identities) in batches of 1,000 into an empty
// store, with fsync, as four ingest streams do. One op is the whole preload.
func BenchmarkIngest4Streams(b *testing.B) {
	items := ingestItems()
	b.ResetTimer()
	var pages, size, commits int64
	var cpu, write time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(filepath.Join(b.TempDir(), fmt.Sprintf("ingest-%d.db", i)), Options{})
		if err != nil {
			b.Fatal(err)
		}
		before := s.db.Stats()
		cpu0 := cpuTime()
		b.StartTimer()
		writeConcurrently(b, s, items, 4, 1000)
		b.StopTimer()
		cpu += cpuTime() - cpu0
		after := s.db.Stats()
		d := after.TxStats.Sub(&before.TxStats)
		pages += d.GetWrite()
		write += d.GetWriteTime()
		commits += s.group.commits.Load()
		if fi, err := os.Stat(s.db.Path()); err == nil {
			size += fi.Size()
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * len(items))
	b.ReportMetric(n/b.Elapsed().Seconds(), "decl/s")
	b.ReportMetric(cpu.Seconds()*1e6/n, "cpu-µs/decl")
	b.ReportMetric(float64(pages)/n, "pages/decl")
	b.ReportMetric(write.Seconds()*1e6/n, "write-µs/decl")
	b.ReportMetric(float64(size)/n, "file-B/decl")
	b.ReportMetric(n/float64(commits), "decl/commit")
}

// writeConcurrently writes items in batches of batch items from writers goroutines, each
// taking the next batch when its last is stored, as ingest streams do (a stream writes the
// messages it has ready together: up to four of 1,000 declarations).
func writeConcurrently(b *testing.B, s *Store, items []store.Item, writers, batch int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(1)-1) * batch
				if start >= len(items) {
					return
				}
				if _, err := s.WriteBatch(context.Background(), items[start:min(len(items), start+batch)]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkOpenLarge opens the file of 200,000 identities and waits until the subject index
// has read its versions, which IdentityOf by subject and Purge wait for after each start;
// index-bytes is the index's own memory (its entries and map slots).
func BenchmarkOpenLarge(b *testing.B) {
	path := largeStoreCopy(b)
	var size int
	b.ResetTimer()
	for range b.N {
		s, err := Open(path, Options{NoViewCache: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.subjectsReady(context.Background(), "BenchmarkOpenLarge"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		size = 0
		for i := range s.subjects.shards {
			sh := &s.subjects.shards[i]
			size += len(sh.data) + 12*len(sh.m)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(size), "index-bytes")
}
