package boltstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/gateway/store"
)

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
