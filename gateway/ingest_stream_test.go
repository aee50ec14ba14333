package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// recordingStore is the real store, recording the record ids each successful WriteBatch
// call wrote, in order, noting calls that overlap, and failing every call that carries the
// record failRecord.
type recordingStore struct {
	store.Store
	failRecord string
	mu         sync.Mutex
	written    []string
	calls      int
	active     int // calls running now
	overlapped bool
}

func (r *recordingStore) WriteBatch(ctx context.Context, items []store.Item) ([]store.Result, error) {
	r.mu.Lock()
	r.calls++
	r.active++
	r.overlapped = r.overlapped || r.active > 1
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.active--
		r.mu.Unlock()
	}()
	var ids []string
	for _, it := range items {
		if ids = append(ids, it.Key().RecordID); it.Key().RecordID == r.failRecord {
			return nil, errs.Errorf(errs.Transient, "test.WriteBatch", "disk unavailable")
		}
	}
	results, err := r.Store.WriteBatch(ctx, items)
	if err == nil {
		r.mu.Lock()
		r.written = append(r.written, ids...)
		r.mu.Unlock()
	}
	return results, err
}

// record returns the record ids written, in order, the calls made and whether two overlapped.
func (r *recordingStore) record() ([]string, int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.written...), r.calls, r.overlapped
}

// TestStreamDeclarationsStoresBatchesInOrder: a stream's batches are written one at a time in
// the order sent, each seeing the ones before it (a record sent again in the next batch is a
// duplicate), while the next batch is prepared ahead.
func TestStreamDeclarationsStoresBatchesInOrder(t *testing.T) {
	rec := &recordingStore{}
	h := newHarnessWith(t, harnessOptions{wrap: func(s store.Store) store.Store { rec.Store = s; return rec }})
	stream, err := h.client(tokNCOVI).ingest.StreamDeclarations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	const batches = 20
	var want []string
	for k := range batches {
		// Batch k: record k (new), then record k-1 again (stored by batch k-1).
		b := []*lienthongv1.Declaration{decl("ncovi", fmt.Sprintf("NC-%d", k), an, now.Add(-time.Duration(batches-k)*time.Minute))}
		if k > 0 {
			b = append(b, decl("ncovi", fmt.Sprintf("NC-%d", k-1), an, now.Add(-time.Duration(batches-k+1)*time.Minute)))
		}
		if err := stream.Send(&lienthongv1.StreamDeclarationsRequest{Declarations: b}); err != nil {
			t.Fatal(err)
		}
		for _, d := range b {
			want = append(want, d.GetSource().GetRecordId())
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetBatchCount() != batches || resp.GetAcceptedCount() != batches || resp.GetDuplicateCount() != batches-1 {
		t.Fatalf("summary batches %d accepted %d duplicate %d, want %d/%d/%d",
			resp.GetBatchCount(), resp.GetAcceptedCount(), resp.GetDuplicateCount(), batches, batches, batches-1)
	}
	for i, r := range resp.GetResults() {
		wantOutcome := lienthongv1.Outcome_OUTCOME_ACCEPTED
		if i > 0 && i%2 == 0 {
			wantOutcome = lienthongv1.Outcome_OUTCOME_DUPLICATE
		}
		if r.GetIndex() != int32(i) || r.GetOutcome() != wantOutcome {
			t.Errorf("result %d: index %d outcome %v, want %v", i, r.GetIndex(), r.GetOutcome(), wantOutcome)
		}
	}
	got, calls, overlapped := rec.record()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("records written in the order %v, want %v", got, want)
	}
	if calls > batches {
		t.Errorf("%d store calls for %d batches", calls, batches)
	}
	if overlapped {
		t.Error("two batches of one stream were written at the same time")
	}
}

// TestStreamDeclarationsStoreFailureEndsStream: when a batch fails in the store, the stream
// ends with its error; the batches before it stay stored and none sent after it is written,
// though the next were already received and prepared (and may have been written together
// with it).
func TestStreamDeclarationsStoreFailureEndsStream(t *testing.T) {
	rec := &recordingStore{failRecord: "NC-1"}
	h := newHarnessWith(t, harnessOptions{wrap: func(s store.Store) store.Store { rec.Store = s; return rec }})
	stream, err := h.client(tokNCOVI).ingest.StreamDeclarations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	for i, p := range []person{an, binh, chi, cuong} {
		m := &lienthongv1.StreamDeclarationsRequest{Declarations: []*lienthongv1.Declaration{decl("ncovi", fmt.Sprintf("NC-%d", i), p, now.Add(-time.Hour))}}
		if err := stream.Send(m); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	}
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.Unavailable)
	if got, _, _ := rec.record(); fmt.Sprint(got) != "[NC-0]" {
		t.Errorf("records written %v, want [NC-0]: nothing from the failed batch on", got)
	}
	if st := lookup(t, h, chipCardQR(an)).GetStatus(); st != lienthongv1.Status_STATUS_CLEAR {
		t.Errorf("the first batch's person is %v, want CLEAR (stored before the failure)", st)
	}
	if st := lookup(t, h, chipCardQR(binh)).GetStatus(); st != lienthongv1.Status_STATUS_NONE {
		t.Errorf("the failed batch's person is %v, want NONE", st)
	}
}
