package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/test/redistest"
)

// realistic returns the declaration of person i on platform p, with field sizes as the
// partners send them (UUID record ids, RFC 3339 nanosecond versions, full addresses).
func realistic(i int, p canonical.Platform, at time.Time) canonical.Declaration {
	d := testDecl(p, fmt.Sprintf("%08x-4b1d-4c3a-9e2f-%012x", i, i*7+len(p)), at)
	d.Source.Version = at.UTC().Format("2006-01-02T15:04:05.000000000Z")
	d.Source.SubjectID = fmt.Sprintf("%s-%010d", p, i)
	d.Person.FullName = "Nguyễn Thị Minh Khai"
	d.Person.NameKey = "nguyen thi minh khai"
	d.Person.Document.Number = fmt.Sprintf("0791%08d", i)
	d.Person.Phone = fmt.Sprintf("+8491%07d", i)
	d.Address.District, d.Address.Ward, d.Address.Street = "Quận 3", "Phường Võ Thị Sáu", "125 Nam Kỳ Khởi Nghĩa"
	return d
}

func qridOf(i int) string { return fmt.Sprintf("Q%019d", i)[:20] } // 20 characters, like an 80-bit base32 QR id

func BenchmarkWriteBatch500(b *testing.B) {
	s, _ := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		items := make([]store.Item, 500)
		for j := range items {
			items[j] = accepted(qridOf(n), realistic(n, canonical.PlatformNCOVI, day0))
			n++
		}
		if _, err := s.WriteBatch(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "decl/s")
}

// BenchmarkWriteBatch500Updates writes batches of 500 newer declarations (another
// platform's) of identities already stored, as most of a day's declarations are: Redis's CPU
// time per declaration (INFO cpu) is what bounds ingest on a busy server.
func BenchmarkWriteBatch500Updates(b *testing.B) {
	s, srv := benchStore(b)
	ctx := context.Background()
	const people = 50_000
	for first := 0; first < people; first += 500 {
		items := make([]store.Item, 500)
		for j := range items {
			items[j] = accepted(qridOf(first+j), realistic(first+j, canonical.PlatformNCOVI, day0))
		}
		if _, err := s.WriteBatch(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	srv0 := serverCPU(b, srv)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		items := make([]store.Item, 500)
		for j := range items {
			i := n % people
			items[j] = accepted(qridOf(i), realistic(i, canonical.PlatformBluezone, day0.Add(time.Duration(1+n/people)*time.Hour)))
			n++
		}
		if _, err := s.WriteBatch(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "decl/s")
	b.ReportMetric(float64((serverCPU(b, srv)-srv0).Nanoseconds())/1e3/float64(n), "server-cpu-µs/decl")
}

// BenchmarkWriteBatch500Parallel is several writers (partners, replicas) at once, each with
// batches of 500 new declarations.
func BenchmarkWriteBatch500Parallel(b *testing.B) {
	s, _ := benchStore(b)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			first := int(next.Add(500)) - 500
			items := make([]store.Item, 500)
			for j := range items {
				items[j] = accepted(qridOf(first+j), realistic(first+j, canonical.PlatformNCOVI, day0))
			}
			if _, err := s.WriteBatch(context.Background(), items); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(next.Load())/b.Elapsed().Seconds(), "decl/s")
}

func BenchmarkView(b *testing.B) {
	s, _ := viewStore(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			if _, err := s.View(context.Background(), qridOf(r.IntN(identities))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
}

// BenchmarkViewParallel50 is 50 callers looking identities up at once, as the gateway's
// lookups do under the load harness, with each GET sent on its own (direct) and coalesced
// into pipelines (pipelined). Compare the two with
//
//	go test ./gateway/store/redisstore -run '^$' -bench ViewParallel50 -count 5 | tee v.txt
//	benchstat -col /mode v.txt
//
// cpu-ns/op is this process's CPU time per view, server-cpu-ns/op redis-server's.
func BenchmarkViewParallel50(b *testing.B) {
	s, srv := viewStore(b)
	for _, mode := range []string{"direct", "pipelined"} {
		b.Run("mode="+mode, func(b *testing.B) {
			s.direct = mode == "direct"
			const callers = 50
			b.ReportAllocs()
			cpu0, srv0 := processCPU(b), serverCPU(b, srv)
			b.ResetTimer()
			viewFromCallers(b, s, identities, callers, 0)
			b.StopTimer()
			cpu, srvCPU := processCPU(b)-cpu0, serverCPU(b, srv)-srv0
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(srvCPU.Nanoseconds())/float64(b.N), "server-cpu-ns/op")
		})
	}
	s.direct = false
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU is the CPU time (user and system) srv has used, from INFO cpu.
func serverCPU(tb testing.TB, srv *redistest.Server) time.Duration {
	info, err := srv.Do("INFO", "cpu")
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, f := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, f); ok {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					tb.Fatal(err)
				}
				total += x
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}

// load stores n identities, each with an NCOVI and a Bluezone declaration (and, with
// aliases, naming a weak QR id), in batches of 500.
func load(tb testing.TB, s *Store, n int, aliases bool) {
	tb.Helper()
	ctx := context.Background()
	var batch []store.Item
	flush := func() {
		if _, err := s.WriteBatch(ctx, batch); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := 0; i < n; i++ {
		for k, p := range []canonical.Platform{canonical.PlatformNCOVI, canonical.PlatformBluezone} {
			it := accepted(qridOf(i), realistic(i, p, day0.Add(time.Duration(k)*time.Hour)))
			if aliases {
				it.Accepted.Aliases = []string{"W" + qridOf(i)[1:]}
			}
			batch = append(batch, it)
		}
		if len(batch) >= 500 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

// TestMemoryPerIdentity loads 100,000 identities with two platforms' declarations each into a
// fresh server and divides the growth of used_memory by the number of identities. It takes
// about half a minute, so it runs only when LIENTHONG_MEMORY_TEST is set:
//
//	LIENTHONG_MEMORY_TEST=1 go test ./gateway/store/redisstore -run TestMemoryPerIdentity -v
func TestMemoryPerIdentity(t *testing.T) {
	if os.Getenv("LIENTHONG_MEMORY_TEST") == "" {
		t.Skip("set LIENTHONG_MEMORY_TEST=1 to measure memory per identity (100,000 identities)")
	}
	const identities = 100000
	for _, tt := range []struct {
		name    string
		aliases bool
	}{{"two_declarations", false}, {"two_declarations_and_a_weak_alias", true}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			s, err := Open(context.Background(), Options{Addrs: []string{srv.Addr()}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			before := usedMemory(t, srv)
			load(t, s, identities, tt.aliases)
			after := usedMemory(t, srv)
			per := float64(after-before) / identities
			t.Logf("%s: used_memory %d → %d bytes: %.0f bytes per identity", tt.name, before, after, per)
			if !tt.aliases && per >= 1024 {
				t.Errorf("%.0f bytes per identity, target < 1024", per)
			}
		})
	}
}

func usedMemory(t *testing.T, srv *redistest.Server) int64 {
	t.Helper()
	info, err := srv.Do("INFO", "memory")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no used_memory in INFO memory")
	return 0
}

// BenchmarkAppendAccess is the access recorder's write: batches of lookups' accesses (the
// recorder writes up to 4,096 gathered for 20 ms: a few hundred at the load harness's rate)
// by one principal or by many. cpu-ns/access is this process's CPU time per access,
// server-cpu-ns/access redis-server's.
func BenchmarkAppendAccess(b *testing.B) {
	for _, bc := range []struct{ batch, principals int }{{256, 1}, {1024, 1}, {1024, 64}} {
		b.Run(fmt.Sprintf("batch=%d/principals=%d", bc.batch, bc.principals), func(b *testing.B) {
			s, srv := benchStore(b)
			as := make([]store.Access, bc.batch)
			// Names made before the clock starts (each access is still new: its time is).
			qrids, principals := make([]string, 1<<14), make([]string, bc.principals)
			for i := range qrids {
				qrids[i] = qridOf(i)
			}
			for i := range principals {
				principals[i] = fmt.Sprintf("station-%04d", i)
			}
			b.ReportAllocs()
			cpu0, srv0 := processCPU(b), serverCPU(b, srv)
			n := 0
			for b.Loop() {
				for j := range as {
					as[j] = store.Access{At: day0.Add(time.Duration(n) * time.Millisecond), Principal: principals[n%len(principals)], Role: "checkpoint", Action: "lookup", QRID: qrids[n%len(qrids)]}
					n++
				}
				if err := s.AppendAccess(context.Background(), as...); err != nil {
					b.Fatal(err)
				}
			}
			cpu, srvCPU := processCPU(b)-cpu0, serverCPU(b, srv)-srv0
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/access")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/access")
			b.ReportMetric(float64(srvCPU.Nanoseconds())/float64(n), "server-cpu-ns/access")
		})
	}
}

// BenchmarkViewLoaded is 50 callers that each spend work of CPU time around every lookup, as
// the gateway's gRPC handling does (about 30 µs a lookup under the load harness), so the
// lookups arrive at the rate of a busy gateway rather than as fast as Redis answers. cpu-ns/op
// is this process's CPU time per view without the work, server-cpu-ns/op redis-server's,
// gets/read how many GETs redis-server read at once (the pipelines' size).
func BenchmarkViewLoaded(b *testing.B) {
	s, srv := viewStore(b)
	for _, work := range []time.Duration{30 * time.Microsecond} {
		b.Run("work="+work.String(), func(b *testing.B) {
			const callers = 50
			b.ReportAllocs()
			cpu0, srv0, reads0 := processCPU(b), serverCPU(b, srv), serverStat(b, srv, "total_reads_processed")
			b.ResetTimer()
			viewFromCallers(b, s, identities, callers, work)
			b.StopTimer()
			cpu, srvCPU := processCPU(b)-cpu0, serverCPU(b, srv)-srv0
			reads := serverStat(b, srv, "total_reads_processed") - reads0
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)-float64(work.Nanoseconds()), "cpu-ns/op")
			b.ReportMetric(float64(srvCPU.Nanoseconds())/float64(b.N), "server-cpu-ns/op")
			b.ReportMetric(float64(b.N)/float64(max(reads, 1)), "gets/read")
		})
	}
}

// serverStat is a counter of INFO stats.
func serverStat(tb testing.TB, srv *redistest.Server, name string) int64 {
	info, err := srv.Do("INFO", "stats")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatalf("no %s in INFO stats", name)
	return 0
}

// viewFromCallers runs b.N views of random identities from callers goroutines, each spending
// work of CPU time before every view.
func viewFromCallers(b *testing.B, s *Store, identities, callers int, work time.Duration) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(rand.Uint64(), 1))
			for next.Add(1) <= int64(b.N) {
				for t0 := time.Now(); time.Since(t0) < work; {
				}
				if _, err := s.View(context.Background(), qridOf(r.IntN(identities))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// identities is how many identities the view benchmarks' store holds.
const identities = 10000

// viewStore is a store on a Redis of its own, loaded with identities identities, for the view
// benchmarks; both close when b ends.
func viewStore(b *testing.B) (*Store, *redistest.Server) {
	s, srv := benchStore(b)
	load(b, s, identities, false)
	return s, srv
}

// benchStore opens a store on a Redis server of its own, both closed when b ends.
func benchStore(b *testing.B) (*Store, *redistest.Server) {
	srv := redistest.Start(b, redistest.Options{})
	s, err := Open(context.Background(), Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, srv
}
