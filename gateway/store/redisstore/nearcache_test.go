package redisstore

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/test/redistest"
)

// replicas opens two stores on one server and namespace, as two gateway replicas would be,
// and gives the first a clock of the test's (monotonic nanoseconds) for its near cache.
func replicas(t *testing.T) (a, b *Store, clock *atomic.Int64, srv *redistest.Server) {
	t.Helper()
	srv = redistest.Start(t, redistest.Options{})
	open := func() *Store {
		s, err := Open(context.Background(), Options{Addrs: []string{srv.Addr()}, Namespace: "near"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if s.near == nil {
			t.Fatal("a standalone server's store has no near cache")
		}
		return s
	}
	a, b = open(), open()
	clock = new(atomic.Int64)
	clock.Store(1)
	a.near.mono = clock.Load
	return a, b, clock, srv
}

// write stores d under qrid through s.
func write(t *testing.T, s *Store, qrid string, d canonical.Declaration) {
	t.Helper()
	if _, err := s.WriteBatch(context.Background(), []store.Item{accepted(qrid, d)}); err != nil {
		t.Fatal(err)
	}
}

// viewRev returns the revision of qrid's view as s reads it.
func viewRev(t *testing.T, s *Store, qrid string) uint64 {
	t.Helper()
	v, err := s.View(context.Background(), qrid)
	if err != nil {
		t.Fatalf("View(%s): %v", qrid, err)
	}
	return v.Revision
}

func TestNearCacheAnswersRepeatLookupsAndDropsWhatAnotherReplicaChanges(t *testing.T) {
	a, b, clock, _ := replicas(t)
	write(t, b, "qA", testDecl(canonical.PlatformNCOVI, "n-1", day0))
	write(t, b, "qB", testDecl(canonical.PlatformBluezone, "b-1", day0))

	first := viewRev(t, a, "qA")
	before := a.NearCacheStats()
	if got := viewRev(t, a, "qA"); got != first {
		t.Fatalf("second read: revision %d, want %d", got, first)
	}
	if after := a.NearCacheStats(); after.Hits != before.Hits+1 || after.Misses != before.Misses {
		t.Fatalf("second read of the same view: stats %+v after %+v, want one hit more", after, before)
	}

	// Another replica changes qA. Redis tells a's tracked connection; a reads it before the
	// reply of its next round trip (here, another person's lookup), and from then on goes to
	// Redis for qA, without its clock moving.
	write(t, b, "qA", testDecl(canonical.PlatformNCOVI, "n-1", day0.Add(time.Hour)))
	if err := b.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	viewRev(t, a, "qB")
	if got := viewRev(t, a, "qA"); got != first+1 {
		t.Fatalf("after another replica's write and a round trip: revision %d, want %d", got, first+1)
	}

	// With no round trip for longer than nearLag, a hit is no longer trusted.
	viewRev(t, a, "qA")
	clock.Add(int64(nearLag))
	before = a.NearCacheStats()
	viewRev(t, a, "qA")
	if after := a.NearCacheStats(); after.Hits != before.Hits || after.Misses != before.Misses+1 {
		t.Fatalf("read %v after the last round trip: stats %+v after %+v, want a miss", nearLag, after, before)
	}
}

func TestNearCacheReadsItsOwnWrites(t *testing.T) {
	a, _, _, _ := replicas(t)
	write(t, a, "qA", testDecl(canonical.PlatformNCOVI, "n-1", day0))
	first := viewRev(t, a, "qA")
	viewRev(t, a, "qA") // cached, and the cache fresh: the clock does not move
	write(t, a, "qA", testDecl(canonical.PlatformNCOVI, "n-1", day0.Add(time.Hour)))
	if got := viewRev(t, a, "qA"); got != first+1 {
		t.Fatalf("read after its own write: revision %d, want %d", got, first+1)
	}
	// A weak identity made an alias by this replica's write is read as the alias at once.
	weak := testDecl(canonical.PlatformBluezone, "b-1", day0)
	weak.Person.Document = canonical.Document{}
	write(t, a, "weak-1", weak)
	viewRev(t, a, "weak-1")
	strong := testDecl(canonical.PlatformBluezone, "b-1", day0.Add(2*time.Hour))
	if _, err := a.WriteBatch(context.Background(), []store.Item{{Accepted: &store.Accepted{
		Declaration: strong, QRID: "qA", Verified: true, Aliases: []string{"weak-1"}}}}); err != nil {
		t.Fatal(err)
	}
	v, err := a.View(context.Background(), "weak-1")
	if err != nil || v.QRID != "qA" {
		t.Fatalf("weak id after its alias was written: %+v, %v; want qA's view", v, err)
	}
}

func TestNearCacheIsEmptiedWhenItsConnectionIsLost(t *testing.T) {
	a, b, clock, srv := replicas(t)
	write(t, b, "qA", testDecl(canonical.PlatformNCOVI, "n-1", day0))
	first := viewRev(t, a, "qA")
	viewRev(t, a, "qA")

	// The tracked connection dies; the write after it sends its invalidation nowhere.
	list, err := srv.Do("CLIENT", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "name=lienthong-near-cache") {
			id = strings.TrimPrefix(strings.Fields(line)[0], "id=")
		}
	}
	if id == "" {
		t.Fatalf("no tracked connection in CLIENT LIST:\n%s", list)
	}
	if _, err := srv.Do("CLIENT", "KILL", "ID", id); err != nil {
		t.Fatal(err)
	}
	write(t, b, "qA", testDecl(canonical.PlatformNCOVI, "n-1", day0.Add(time.Hour)))

	// Past nearLag the lookup goes to Redis, finds the connection gone, and the new one
	// starts from an empty cache: the old view is never read again.
	clock.Add(int64(nearLag))
	for i := 0; i < 3; i++ {
		v, err := a.View(context.Background(), "qA")
		if err != nil {
			if errs.KindOf(err) != errs.Transient {
				t.Fatalf("read %d on a lost connection: %v, want a transient error or the new view", i, err)
			}
			continue
		}
		if v.Revision != first+1 {
			t.Fatalf("read %d after the tracked connection was lost: revision %d, want %d", i, v.Revision, first+1)
		}
	}
}

func TestNearCacheForgetsEverythingWhenRedisIsFlushed(t *testing.T) {
	a, b, _, srv := replicas(t)
	write(t, b, "qA", testDecl(canonical.PlatformNCOVI, "n-1", day0))
	write(t, b, "qB", testDecl(canonical.PlatformBluezone, "b-1", day0))
	viewRev(t, a, "qA")
	if _, err := srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.View(context.Background(), "qB"); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("qB after FLUSHALL: %v, want NotFound", err)
	}
	if _, err := a.View(context.Background(), "qA"); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("cached qA after FLUSHALL and a round trip: %v, want NotFound", err)
	}
}

func TestNearCacheDoesNotStoreAValueInvalidatedWhileItWasRead(t *testing.T) {
	n := newNearCache(1 << 20)
	n.mono = func() int64 { return 1 }
	keys, vals, found := []string{"k1", "k2", "k3"}, []string{"v1", "v2", ""}, []bool{true, true, false}

	sent, gen := n.begin()
	n.forget("k2") // its invalidation came in before its reply was stored
	n.fill(sent, gen, true, keys, vals, found)
	if v, ok := n.get("k1"); !ok || v != "v1" {
		t.Fatalf("k1: %q %v, want v1 cached", v, ok)
	}
	for _, k := range []string{"k2", "k3"} {
		if v, ok := n.get(k); ok {
			t.Fatalf("%s: cached %q; invalidated while read, or missing in Redis, it must not be", k, v)
		}
	}

	sent, gen = n.begin()
	n.reconnected() // the round trip was retried on a new connection
	n.fill(sent, gen, true, keys, vals, found)
	if _, ok := n.get("k1"); ok {
		t.Fatal("a value read across a reconnection was kept")
	}

	sent, gen = n.begin()
	n.forgetAll()
	n.fill(sent, gen, true, keys, vals, found)
	if _, ok := n.get("k1"); ok {
		t.Fatal("a value read while everything was invalidated was stored")
	}

	sent, gen = n.begin()
	n.fill(sent, gen, false, keys, vals, found)
	if _, ok := n.get("k1"); ok {
		t.Fatal("a value of a round trip that failed was stored")
	}
}

func TestNearCacheStaysWithinItsSize(t *testing.T) {
	n := newNearCache(10 * (nearEntryOverhead + 2 + 100))
	n.mono = func() int64 { return 1 }
	val := strings.Repeat("x", 100)
	for i := 0; i < 100; i++ {
		sent, gen := n.begin()
		n.fill(sent, gen, true, []string{string(rune('a'+i%26)) + string(rune('a'+i/26))}, []string{val}, []bool{true})
	}
	if len(n.m) != 10 || n.size > n.max {
		t.Fatalf("%d entries, %d bytes, of at most %d bytes: want 10 entries", len(n.m), n.size, n.max)
	}
}

func TestNearCacheOnlyForAStandaloneServer(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	off, err := ParseTarget(srv.URL() + "/?near_cache_mb=0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), off)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.near != nil {
		t.Fatal("near_cache_mb=0: the store has a near cache")
	}
	if _, err := ParseTarget(srv.URL() + "/?near_cache_mb=-1"); errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), "near_cache_mb") {
		t.Fatalf("near_cache_mb=-1: %v, want an invalid-parameter error naming it", err)
	}
}
