package boltstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// benchItems returns batch number n of 500 declarations: each identity is declared by three
// platforms, so a batch updates about 167 views three times each.
func benchItems(n int) []store.Item {
	const size = 500
	items := make([]store.Item, size)
	platforms := []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}
	for i := range items {
		at := day0.Add(time.Duration(n*size+i) * time.Second)
		d := declaration(platforms[i%3], fmt.Sprintf("r-%d-%d", n, i), at)
		d.Health.Symptoms = []canonical.Symptom{canonical.SymptomCough}
		items[i] = store.Item{Accepted: &store.Accepted{Declaration: d, QRID: fmt.Sprintf("q-%d-%d", n, i/3), Verified: true}}
	}
	return items
}

func benchmarkWriteBatch(b *testing.B, noSync bool) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batches := make([][]store.Item, b.N)
	for i := range batches {
		batches[i] = benchItems(i)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.WriteBatch(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "decl/s")
	if fi, err := os.Stat(s.db.Path()); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(b.N*500), "file-B/decl")
	}
}

// BenchmarkWriteBatch500 writes batches of 500 declarations, each committed with fsync.
func BenchmarkWriteBatch500(b *testing.B) { benchmarkWriteBatch(b, false) }

// BenchmarkWriteBatch500NoSync is the same without fsync: the cost of the work itself.
func BenchmarkWriteBatch500NoSync(b *testing.B) { benchmarkWriteBatch(b, true) }

// BenchmarkWriteBatch500Parallel has several writers whose commits bbolt coalesces.
func BenchmarkWriteBatch500Parallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var next int64
	var mu = make(chan struct{}, 1)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu <- struct{}{}
			n := next
			next++
			<-mu
			if _, err := s.WriteBatch(ctx, benchItems(int(n))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "decl/s")
}

func benchmarkView(b *testing.B, parallel bool) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const batches = 60 // 30,000 declarations, 10,000 identities
	for n := range batches {
		if _, err := s.WriteBatch(ctx, benchItems(n)); err != nil {
			b.Fatal(err)
		}
	}
	qrid := func(i int) string { return fmt.Sprintf("q-%d-%d", i%batches, i%166) }
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.View(ctx, qrid(i)); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			if _, err := s.View(ctx, qrid(i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
}

// BenchmarkView reads views of 10,000 identities (three platforms each) one at a time.
func BenchmarkView(b *testing.B) { benchmarkView(b, false) }

// BenchmarkViewParallel reads them from GOMAXPROCS goroutines.
func BenchmarkViewParallel(b *testing.B) { benchmarkView(b, true) }

// BenchmarkAppendAccess appends accesses as the gateway's access recorder does, 500 a call,
// with fsync: cpu-ns/access is this process's CPU time per access, pages/access the pages
// written per access.
func BenchmarkAppendAccess(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "a.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 500
	as := make([]store.Access, n)
	at := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for i := range as {
		as[i] = store.Access{At: at, Principal: "checkpoint-1", Role: "checkpoint", Action: "lookup", QRID: fmt.Sprintf("qrid-%024d", i)}
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range as {
			as[j].At = as[j].At.Add(time.Millisecond)
		}
		if err := s.AppendAccess(context.Background(), as...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/access")
	st := s.db.Stats()
	b.ReportMetric(float64(st.TxStats.GetPageCount())/float64(b.N*n), "pages/access")
}
