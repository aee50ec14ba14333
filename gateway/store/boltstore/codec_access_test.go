package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/gateway/store"
)

// encodeAccess is an access in format 1, as builds before chunks wrote it.
func encodeAccess(a store.Access) []byte {
	return appendAccess([]byte{accessFormat1}, &a)
}

func sampleAccess() store.Access {
	return store.Access{At: day0.Add(time.Nanosecond), Principal: "moh", Role: "ministry", Action: "history", QRID: "q1", Reason: "điều tra"}
}

func TestAccessCodecRoundTrip(t *testing.T) {
	for name, a := range map[string]store.Access{
		"full":  sampleAccess(),
		"empty": {},
		// Before 1970, and without a reason (a lookup).
		"old lookup": {At: time.Date(1969, 12, 31, 23, 59, 59, 5, time.UTC), Principal: "p", Action: "lookup"},
	} {
		t.Run(name, func(t *testing.T) {
			var got store.Access
			if err := decodeAccess(encodeAccess(a), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, a) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, a)
			}
		})
	}
}

// An access stored as JSON (by builds before the binary encoding) is still read.
func TestAccessCodecReadsJSON(t *testing.T) {
	want := sampleAccess()
	b, _ := json.Marshal(want)
	var got store.Access
	if err := decodeAccess(b, &got); err != nil || !got.At.Equal(want.At) {
		t.Fatalf("JSON access: %v, %+v", err, got)
	}
	got.At = want.At
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON access:\n got %+v\nwant %+v", got, want)
	}
}

// FuzzDecodeAccess: no input makes decoding panic, and whatever decodes encodes back to the
// same access.
func FuzzDecodeAccess(f *testing.F) {
	f.Add(encodeAccess(sampleAccess()))
	f.Add(encodeAccess(store.Access{}))
	f.Add([]byte{accessFormat1})                // truncated
	f.Add([]byte{accessFormat1, 0, 0xff, 0xff}) // a huge string length
	f.Add([]byte(`{"Principal":"p"}`))          // JSON
	f.Fuzz(func(t *testing.T, b []byte) {
		var a store.Access
		if err := decodeAccess(b, &a); err != nil || b[0] == '{' {
			return
		}
		var again store.Access
		if err := decodeAccess(encodeAccess(a), &again); err != nil || !reflect.DeepEqual(again, a) {
			t.Fatalf("re-encoding changed the access: %v", err)
		}
	})
}

// A run of accesses splits into chunks that each fit a page (an access too large for one is a
// chunk of its own), and the chunks decode to the run, in order.
func TestAccessChunksRoundTrip(t *testing.T) {
	var run []store.Access
	for i := range 300 {
		a := store.Access{At: day0.Add(time.Duration(i) * time.Millisecond), Principal: fmt.Sprintf("cp-%d", i%7), Role: "checkpoint", Action: "lookup", QRID: fmt.Sprintf("q%023d", i)}
		if i == 150 {
			a.Action, a.Reason = "history", strings.Repeat("điều tra ", 600) // 6,600 bytes
		}
		run = append(run, a)
	}
	var got []store.Access
	chunks := 0
	err := chunkAccesses(run, func(first *store.Access, value []byte) error {
		chunks++
		before := len(got)
		var err error
		if got, err = decodeAccesses(value, got); err != nil {
			return err
		}
		if *first != got[before] {
			t.Errorf("chunk %d filed under %+v, its first access is %+v", chunks, *first, got[before])
		}
		if len(value) > accessChunkBytes && len(got)-before > 1 {
			t.Errorf("chunk %d: %d bytes for %d accesses, over %d", chunks, len(value), len(got)-before, accessChunkBytes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, run) {
		t.Fatalf("chunks decode to %d accesses, not the %d written in order", len(got), len(run))
	}
	size, alone := 0, 0
	for i := range run {
		if n := len(appendAccess(nil, &run[i])); n > accessChunkBytes {
			alone++
		} else {
			size += n
		}
	}
	// Full chunks, but for the last and those on either side of the 6,600-byte access, which
	// is a chunk alone.
	if least := size/accessChunkBytes + alone; chunks < least || chunks > least+3 {
		t.Errorf("%d chunks of at most %d bytes for %d bytes of accesses and %d larger than that", chunks, accessChunkBytes, size, alone)
	}
}

// FuzzDecodeAccesses: no value makes decoding panic, and a chunk that decodes re-encodes to
// the same accesses.
func FuzzDecodeAccesses(f *testing.F) {
	_ = chunkAccesses([]store.Access{sampleAccess(), {}}, func(_ *store.Access, v []byte) error {
		f.Add(v)
		return nil
	})
	f.Add([]byte{accessFormatChunk})                   // empty
	f.Add([]byte{accessFormatChunk, 1, 0xff, 0xff, 1}) // truncated
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := decodeAccesses(b, nil)
		if err != nil || b[0] != accessFormatChunk {
			return
		}
		var again []store.Access
		if err := chunkAccesses(as, func(_ *store.Access, v []byte) error {
			again, err = decodeAccesses(v, again)
			return err
		}); err != nil || !reflect.DeepEqual(again, as) {
			t.Fatalf("re-encoding changed the accesses: %v", err)
		}
	})
}

func BenchmarkEncodeAccess(b *testing.B) {
	a := sampleAccess()
	b.Run("binary", func(b *testing.B) {
		for b.Loop() {
			_ = encodeAccess(a)
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(a); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAccessLogReadsBothEncodings: a log with accesses written as JSON by an earlier build
// and in binary by this one pages through both.
func TestAccessLogReadsBothEncodings(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "access.db"), nil)
	defer s.Close()
	old := sampleAccess()
	js, _ := json.Marshal(old)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccess).Put(binary.BigEndian.AppendUint64(appendTime(nil, old.At), 0), js)
	}); err != nil {
		t.Fatal(err)
	}
	recent := store.Access{At: old.At.Add(time.Minute), Principal: "cp-1", Role: "checkpoint", Action: "lookup", QRID: "q1"}
	if err := s.AppendAccess(ctx, recent); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.AccessLog(ctx, store.AccessQuery{QRID: "q1"})
	if err != nil || len(got) != 2 {
		t.Fatalf("AccessLog = %d accesses, %v; want 2", len(got), err)
	}
	if !got[1].At.Equal(old.At) {
		t.Errorf("JSON access read at %v, want %v", got[1].At, old.At)
	}
	got[1].At = old.At
	if !reflect.DeepEqual(got, []store.Access{recent, old}) {
		t.Errorf("AccessLog:\n got %+v\nwant %+v", got, []store.Access{recent, old})
	}
}

// TestAccessLogPagesThroughChunks: accesses appended in calls of many (several chunks each),
// out of time order within a call, and one written before chunks, page newest first with and
// without filters, each access on exactly one page; a token of the earlier form (a key
// alone) still goes on below its key.
func TestAccessLogPagesThroughChunks(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "access.db"), nil)
	defer s.Close()
	old := store.Access{At: day0, Principal: "cp-0", Role: "checkpoint", Action: "lookup", QRID: "q3"}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAccess).Put(binary.BigEndian.AppendUint64(appendTime(nil, old.At), 0), encodeAccess(old))
	}); err != nil {
		t.Fatal(err)
	}
	all := []store.Access{old}
	n := 0
	for _, calls := range []int{130, 1, 70} {
		var batch []store.Access
		for range calls {
			n++
			batch = append(batch, store.Access{At: day0.Add(time.Duration(n) * time.Second), Principal: fmt.Sprintf("cp-%d", n%3), Role: "checkpoint", Action: "lookup", QRID: fmt.Sprintf("q%d", n%10)})
		}
		all = append(all, batch...)
		slices.Reverse(batch) // the recorder's order is not always time order
		if err := s.AppendAccess(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	newestFirst := slices.Clone(all)
	slices.Reverse(newestFirst)
	for _, q := range []store.AccessQuery{{PageSize: 7}, {Principal: "cp-2", PageSize: 7}, {QRID: "q3", PageSize: 5}, {PageSize: 1000}} {
		var want []store.Access
		for _, a := range newestFirst {
			if q.Matches(a) {
				want = append(want, a)
			}
		}
		var got []store.Access
		for pages := 1; ; pages++ {
			page, next, err := s.AccessLog(ctx, q)
			if err != nil {
				t.Fatalf("%+v page %d: %v", q, pages, err)
			}
			if len(page) > q.PageSize || (next != "" && len(page) != q.PageSize) {
				t.Fatalf("%+v page %d: %d accesses, next %q", q, pages, len(page), next)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			if pages > len(all) {
				t.Fatalf("%+v: pages never end", q)
			}
			q.PageToken = next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: paged %d accesses, want %d newest first", q, len(got), len(want))
		}
	}
	// An earlier build's token is the key of the last access it returned.
	page, _, err := s.AccessLog(ctx, store.AccessQuery{PageToken: encodeToken(binary.BigEndian.AppendUint64(appendTime(nil, old.At.Add(time.Nanosecond)), 0))})
	if err != nil || !reflect.DeepEqual(page, []store.Access{old}) {
		t.Errorf("after a key-only token: %+v, %v; want the access before it", page, err)
	}
}

// TestAccessLogLeavesAreSinglePages appends accesses as the recorder does (a few hundred a
// commit): no leaf of the access bucket spills onto a run of pages, which each commit would
// have to find by scanning bolt's free-page list.
func TestAccessLogLeavesAreSinglePages(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "access.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	at := day0
	for commit := range 40 {
		var as []store.Access
		for i := range 100 + 20*commit {
			at = at.Add(time.Millisecond)
			as = append(as, store.Access{At: at, Principal: fmt.Sprintf("checkpoint-%d", i%13), Role: "checkpoint", Action: "lookup", QRID: fmt.Sprintf("q%023d", i)})
		}
		if err := s.AppendAccess(ctx, as...); err != nil {
			t.Fatal(err)
		}
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		st := tx.Bucket(bucketAccess).Stats()
		if st.LeafPageN < 10 {
			t.Errorf("%d leaf pages: too few to show anything", st.LeafPageN)
		}
		if st.LeafOverflowN != 0 {
			t.Errorf("%d of the access bucket's %d leaves run onto %d more pages", st.LeafOverflowN, st.LeafPageN, st.LeafOverflowN)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
