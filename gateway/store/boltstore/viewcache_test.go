package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/storetest"
)

// TestConformanceNoViewCache runs the store contract with views read from the file only
// (TestConformance runs it with the cache, the default).
func TestConformanceNoViewCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), "lienthong.db"), Options{Now: now, Timeout: time.Second, NoViewCache: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// fileViews is every view stored in the file, by QR id.
func fileViews(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIdentities).ForEach(func(k, v []byte) error {
			if isQRIDKey(string(k)) {
				out[string(k)] = clone(v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCacheAgrees fails unless the cache holds exactly the file's views, and returns how many
// QR ids it remembers as deleted.
func checkCacheAgrees(t *testing.T, s *Store) (deleted int) {
	t.Helper()
	want := fileViews(t, s)
	got := 0
	for i := range s.views.shards {
		sh := &s.views.shards[i]
		sh.mu.RLock()
		live := 0
		for k, e := range sh.m {
			q := string(k[:k[viewKeyMax]])
			if e.n < 0 {
				deleted++
				if _, ok := want[q]; ok {
					t.Errorf("the cache says %s was deleted; the file has its view", q)
				}
				continue
			}
			got++
			live += int(e.n)
			if !bytes.Equal(sh.bytes(e), want[q]) {
				t.Errorf("the cached view of %s is not the file's", q)
			}
		}
		if live != sh.live {
			t.Errorf("shard %d counts %d live bytes; its views have %d", i, sh.live, live)
		}
		sh.mu.RUnlock()
	}
	if got != len(want) {
		t.Errorf("the cache holds %d views, the file %d", got, len(want))
	}
	checkAliasesAgree(t, s)
	return deleted
}

// TestViewCacheAgreesWithFile writes the simulator's declarations (people who merge under
// a stronger identity lose their view), purges the older half (people left with nothing lose
// theirs), and reopens: after each, the cache holds exactly what the file holds, and lookups
// answer as a store without the cache does.
func TestViewCacheAgreesWithFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	items := simItems(3, 6000)
	var qrids []string
	var declared []time.Time
	for i := 0; i < len(items); i += 500 {
		res, err := s.WriteBatch(ctx, items[i:min(len(items), i+500)])
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range res {
			if r.QRID != "" {
				qrids = append(qrids, r.QRID)
			}
			if a := items[i+j].Accepted; a != nil {
				declared = append(declared, a.Declaration.DeclaredAt)
				qrids = append(qrids, a.Aliases...)
			}
		}
	}
	if n := checkCacheAgrees(t, s); n == 0 {
		t.Error("no identity merged into another: the test does not exercise deleted views")
	}
	slices.SortFunc(declared, time.Time.Compare)
	if _, err := s.Purge(ctx, declared[len(declared)/2]); err != nil {
		t.Fatal(err)
	}
	checkCacheAgrees(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cached, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cached.Close()
	cached.loading.Wait()
	if n := checkCacheAgrees(t, cached); n != 0 {
		t.Errorf("a reopened store remembers %d deleted views; it loads only stored ones", n)
	}
	// The same answers as from the file, aliases and unknown ids included.
	for _, q := range append(qrids, "unknown-qr-id") {
		a, errA := cached.View(ctx, q)
		b, errB := cached.fileView(ctx, "test", q)
		if (errA == nil) != (errB == nil) || !viewsEqual(a, b) {
			t.Fatalf("View(%s): cached %+v, %v; file %+v, %v", q, a, errA, b, errB)
		}
	}
}

func viewsEqual(a, b store.View) bool {
	return bytes.Equal(encodeView(a), encodeView(b))
}

// TestViewCacheArenaStaysBounded replaces a few views many times, as ingest does: the arena
// the replaced views leave behind is compacted, so it stays within about one and a half
// times the live views, every view reads as last set, and a view read before a compaction
// keeps its bytes.
func TestViewCacheArenaStaysBounded(t *testing.T) {
	c := newViewCache()
	const ids = 200
	view := func(id, round int) []byte {
		return bytes.Repeat([]byte(fmt.Sprintf("<%d.%d>", id, round)), 400+id%60)
	}
	deleted := func(id, round int) bool { return id%50 == 7 && round%3 == 2 }
	written := map[*viewShard]int{}
	held, _ := c.get("q-0") // nothing yet
	var heldWant []byte
	for round := 0; round < 300; round++ {
		for id := 0; id < ids; id++ {
			q := fmt.Sprintf("q-%d", id)
			if deleted(id, round) {
				c.set(q, nil, round+1) // deleted now and then
				continue
			}
			c.set(q, view(id, round), round+1)
			written[c.shard(q)] += len(view(id, round))
		}
		if round == 1 {
			held, _ = c.get("q-3")
			heldWant = clone(held)
		}
	}
	if !bytes.Equal(held, heldWant) {
		t.Error("a view read before the arena was compacted changed")
	}
	compacted := false
	for i := range c.shards {
		sh := &c.shards[i]
		if sh.live > 0 && sh.arenaBytes() > sh.live+max(minCompact, sh.live/2)+maxChunk {
			t.Errorf("shard %d: an arena of %d bytes for %d live bytes", i, sh.arenaBytes(), sh.live)
		}
		compacted = compacted || sh.arenaBytes() < written[sh]
	}
	if !compacted {
		t.Error("no shard was compacted: the test does not exercise compaction")
	}
	for id := 0; id < ids; id++ {
		q := fmt.Sprintf("q-%d", id)
		b, ok := c.get(q)
		if deleted(id, 299) {
			if ok {
				t.Errorf("%s was deleted last and reads %.30q…", q, b)
			}
			continue
		}
		if want := view(id, 299); !ok || !bytes.Equal(b, want) {
			t.Errorf("%s reads %.30q…, want the last view set, %.30q…", q, b, want)
		}
	}
}

// arenaBytes is the capacity of the shard's chunks.
func (sh *viewShard) arenaBytes() int {
	n := 0
	for _, ch := range sh.chunks {
		n += cap(ch)
	}
	return n
}

// TestViewCacheLongKeys: a QR id longer than a cache key holds is not cached; its view is
// read from the file, and a lookup still finds it.
func TestViewCacheLongKeys(t *testing.T) {
	long := strings.Repeat("q", viewKeyMax+1)
	c := newViewCache()
	c.set(long, []byte("v"), 1)
	if _, ok := c.get(long); ok {
		t.Errorf("a %d-byte QR id was cached", len(long))
	}
	s, err := Open(filepath.Join(t.TempDir(), "lienthong.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return putView(tx, s.views, long, store.View{}, store.View{QRID: long, Revision: 1}, false)
	}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.View(context.Background(), long); err != nil || v.QRID != long {
		t.Errorf("View of a long QR id: %+v, %v", v, err)
	}
}

// TestViewCacheIgnoresRollback: a view written in a transaction that fails never reaches the
// cache.
func TestViewCacheIgnoresRollback(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "lienthong.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	boom := errors.New("boom")
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := putView(tx, s.views, "q-rolled-back", store.View{}, store.View{QRID: "q-rolled-back", Revision: 1}, false); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	if _, ok := s.views.get("q-rolled-back"); ok {
		t.Error("the cache shows a view whose transaction rolled back")
	}
	if _, err := s.View(context.Background(), "q-rolled-back"); err == nil {
		t.Error("View found a view whose transaction rolled back")
	}
}

// TestViewCacheLaterTransactionWins: commit handlers of two transactions may run in either
// order; the entry of the later transaction stays.
func TestViewCacheLaterTransactionWins(t *testing.T) {
	c := newViewCache()
	c.set("q", []byte("second"), 8)
	c.set("q", []byte("first"), 7)
	if b, _ := c.get("q"); string(b) != "second" {
		t.Errorf("after an older transaction's handler: %q, want second", b)
	}
	c.set("q", nil, 9)
	if _, ok := c.get("q"); ok {
		t.Error("a view deleted by the latest transaction is still there")
	}
	c.set("q", []byte("first"), 7)
	if _, ok := c.get("q"); ok {
		t.Error("an older transaction's handler brought back a deleted view")
	}
}

// TestViewCacheConcurrentReadsAndWrites reads views while batches commit (run with -race):
// every read finds its identity, at some revision no older than the one acknowledged before
// it started.
func TestViewCacheConcurrentReadsAndWrites(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "lienthong.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.WriteBatch(ctx, benchItems(0)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	var acked sync.Map // batch n written → true
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for n := 1; n <= 20; n++ {
			if _, err := s.WriteBatch(ctx, benchItems(n)); err != nil {
				t.Error(err)
				return
			}
			acked.Store(n, true)
		}
	}()
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				n := i % 21
				_, written := acked.Load(n)
				_, err := s.View(ctx, fmt.Sprintf("q-%d-%d", n, i%166))
				if (written || n == 0) && err != nil {
					t.Errorf("batch %d was acknowledged before the read, and its identity is not found: %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkCacheAgrees(t, s)
}

// TestViewCacheLoadsInBackground: right after Open, while the cache fills, lookups answer as
// from the file and writes go on; the writes win over the older views the loader reads, and
// a store closed while loading closes at once.
func TestViewCacheLoadsInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	items := simItems(4, 12000)
	for i := 0; i < 9000; i += 1000 {
		if _, err := s.WriteBatch(ctx, items[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var qrids []string
	for i := 9000; i < len(items); i += 1000 {
		res, err := s.WriteBatch(ctx, items[i:i+1000]) // many change views the loader reads
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.QRID != "" {
				qrids = append(qrids, r.QRID)
			}
		}
		for _, q := range qrids[max(0, len(qrids)-50):] {
			a, errA := s.View(ctx, q)
			b, errB := s.fileView(ctx, "test", q)
			if (errA == nil) != (errB == nil) || !viewsEqual(a, b) {
				t.Fatalf("View(%s) while loading: %+v, %v; file %+v, %v", q, a, errA, b, errB)
			}
		}
	}
	s.loading.Wait()
	checkCacheAgrees(t, s)

	// Closed while loading: Close stops the loader instead of waiting for it.
	s.Close()
	s2, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
}

// heldCommit runs a group commit whose own write waits until n more writes wait in the
// group behind it, which start calls each in turn (each after the one before waits), so that
// the transaction then takes them in, in that order; then it runs own (when not nil) in the
// same transaction. It returns the first write's error.
func heldCommit(t *testing.T, s *Store, n int, start func(i int), own func(*bolt.Tx) error) error {
	t.Helper()
	return s.commit(1, func(tx *bolt.Tx) error {
		deadline := time.Now().Add(30 * time.Second)
		for i := range n {
			start(i)
			for waiting := 0; waiting <= i; { // until it waits (no sleep: it will)
				if time.Now().After(deadline) {
					return fmt.Errorf("write %d did not wait in the group", i)
				}
				runtime.Gosched()
				s.group.mu.Lock()
				waiting = len(s.group.waiting)
				s.group.mu.Unlock()
			}
		}
		if own == nil {
			return nil
		}
		return own(tx)
	})
}

// TestWriterSeesViewsOfItsOwnTransaction: the writer reads views from the cache, which learns
// a transaction's views only once it commits; writes coalesced into one transaction still
// see the views the writes before them put (pending views). The simulator's declarations go
// in small batches, twenty at a time into one transaction, to a store with the cache and, one
// batch at a time, to one without: every answer and view is the same.
func TestWriterSeesViewsOfItsOwnTransaction(t *testing.T) {
	ctx := context.Background()
	cached, err := Open(filepath.Join(t.TempDir(), "cached.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cached.Close()
	cached.loading.Wait()
	file, err := Open(filepath.Join(t.TempDir(), "file.db"), Options{NoSync: true, NoViewCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	items := simItems(7, 12000)
	const batch, perTx = 50, 20
	sharedTx := 0 // items whose identity a write before them in their transaction wrote
	for start := 0; start < len(items); start += batch * perTx {
		var parts [][]store.Item
		for i := start; i < min(len(items), start+batch*perTx); i += batch {
			parts = append(parts, items[i:min(len(items), i+batch)])
		}
		seen := map[string]int{} // QR id → the part that wrote it first
		for p, part := range parts {
			for _, it := range part {
				if a := it.Accepted; a != nil {
					if first, ok := seen[a.QRID]; ok && first < p {
						sharedTx++
					} else if !ok {
						seen[a.QRID] = p
					}
				}
			}
		}
		got := make([][]store.Result, len(parts))
		errsOut := make([]error, len(parts))
		var wg sync.WaitGroup
		commits := cached.group.commits.Load()
		err := heldCommit(t, cached, len(parts), func(i int) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errsOut[i] = cached.WriteBatch(ctx, parts[i])
			}()
		}, nil)
		wg.Wait()
		if err != nil || errors.Join(errsOut...) != nil {
			t.Fatalf("errors: %v, %v", err, errsOut)
		}
		if n := cached.group.commits.Load() - commits; n != 1 {
			t.Fatalf("%d writes took %d transactions, want 1", len(parts), n)
		}
		for i, part := range parts {
			want, err := file.WriteBatch(ctx, part)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want {
				if got[i][j] != want[j] {
					t.Fatalf("batch at %d, item %d: %+v with the cache, %+v from the file", start+i*batch, j, got[i][j], want[j])
				}
			}
		}
	}
	if sharedTx == 0 {
		t.Fatal("no identity was written twice in one transaction; the test needs some")
	}
	checkCacheAgrees(t, cached)
	gotViews, wantViews := fileViews(t, cached), fileViews(t, file)
	if len(gotViews) != len(wantViews) {
		t.Fatalf("the stores hold %d and %d views", len(gotViews), len(wantViews))
	}
	for q, b := range wantViews {
		if !bytes.Equal(gotViews[q], b) {
			t.Errorf("view %s differs: with the cache %q, from the file %q", q, gotViews[q], b)
		}
	}
	t.Logf("%d items; %d under an identity written earlier in their transaction", len(items), sharedTx)
}

// TestPurgeGoesThroughTheGroup: a purge waits in the group commit like any write, so no write
// transaction starts before the cache has the views of the one before it.
func TestPurgeGoesThroughTheGroup(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "lienthong.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.loading.Wait()
	old := declaration(canonical.PlatformNCOVI, "n-old", day0)
	if _, err := s.WriteBatch(ctx, []store.Item{{Accepted: &store.Accepted{Declaration: old, QRID: "qP", Verified: true}}}); err != nil {
		t.Fatal(err)
	}
	var purged int
	var purgeErr error
	done := make(chan struct{})
	err = heldCommit(t, s, 1, func(int) {
		go func() {
			defer close(done)
			purged, purgeErr = s.Purge(ctx, day0.Add(time.Hour))
		}()
	}, nil)
	<-done
	if err != nil || purgeErr != nil || purged != 1 {
		t.Fatalf("held commit: %v; purge: %d purged, %v", err, purged, purgeErr)
	}
	// The identity is gone from the file and the cache; a new declaration starts it afresh.
	fresh := declaration(canonical.PlatformBluezone, "b-new", day0.Add(2*time.Hour))
	if _, err := s.WriteBatch(ctx, []store.Item{{Accepted: &store.Accepted{Declaration: fresh, QRID: "qP", Verified: true}}}); err != nil {
		t.Fatal(err)
	}
	v, err := s.View(ctx, "qP")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Latest) != 1 || v.Latest[0].Platform != canonical.PlatformBluezone {
		t.Errorf("after the purge and a new declaration the view holds %+v, want only Bluezone's", v.Latest)
	}
}
