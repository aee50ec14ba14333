package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/store"
)

// callsStore is the real store, recording the record ids of each WriteBatch call and failing
// every call that carries the record failRecord.
type callsStore struct {
	store.Writer
	failRecord string
	mu         sync.Mutex
	calls      [][]string
}

func (c *callsStore) WriteBatch(ctx context.Context, items []store.Item) ([]store.Result, error) {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.Key().RecordID)
	}
	c.mu.Lock()
	c.calls = append(c.calls, ids)
	c.mu.Unlock()
	for _, id := range ids {
		if id == c.failRecord {
			return nil, errs.Errorf(errs.Transient, "test.WriteBatch", "disk unavailable")
		}
	}
	return c.Writer.WriteBatch(ctx, items)
}

// TestStoreInOrderWritesTogether: prepared batches are written in one store call, and each
// gets its own results, as if written one after the other (a record of the first sent again
// in the second is a duplicate).
func TestStoreInOrderWritesTogether(t *testing.T) {
	w := newWorld(t)
	st := &callsStore{Writer: w.store}
	p := ingest.New(ingest.Config{Store: st, Deriver: w.deriver, Now: fixedNow})
	ctx := context.Background()
	bs := []*ingest.Prepared{
		p.PrepareBatch(ctx, []canonical.Declaration{declaration("TK-1"), declaration("TK-2")}),
		p.PrepareBatch(ctx, []canonical.Declaration{declaration("TK-1"), declaration("TK-3")}),
	}
	got, err := ingest.StoreInOrder(ctx, bs)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.calls) != "[[TK-1 TK-2 TK-1 TK-3]]" {
		t.Errorf("store calls %v, want one with both batches in order", st.calls)
	}
	want := [][]string{{"accepted", "accepted"}, {"duplicate", "accepted"}}
	if fmt.Sprint(outcomes(got)) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", outcomes(got), want)
	}
}

// TestStoreInOrderFailureIsItsBatchs: when the batches written together fail, they are
// written one at a time: the batches before the failing one are stored with their results,
// the error is the failing batch's, and none after it is written.
func TestStoreInOrderFailureIsItsBatchs(t *testing.T) {
	w := newWorld(t)
	st := &callsStore{Writer: w.store, failRecord: "TK-2"}
	p := ingest.New(ingest.Config{Store: st, Deriver: w.deriver, Now: fixedNow})
	ctx := context.Background()
	var bs []*ingest.Prepared
	for i := 1; i <= 3; i++ {
		bs = append(bs, p.PrepareBatch(ctx, []canonical.Declaration{declaration(fmt.Sprintf("TK-%d", i))}))
	}
	got, err := ingest.StoreInOrder(ctx, bs)
	if errs.KindOf(err) != errs.Transient {
		t.Fatalf("err = %v, want the second batch's (transient)", err)
	}
	if fmt.Sprint(outcomes(got)) != "[[accepted]]" {
		t.Errorf("results %v, want the first batch's only", outcomes(got))
	}
	if fmt.Sprint(st.calls) != "[[TK-1 TK-2 TK-3] [TK-1] [TK-2]]" {
		t.Errorf("store calls %v, want all three, then one at a time up to the failing one", st.calls)
	}
	// TK-3 was never stored: written now, it is accepted, not a duplicate.
	r, err := p.Unsigned().Ingest(ctx, []canonical.Declaration{declaration("TK-3")})
	if err != nil || r[0].Outcome != "accepted" {
		t.Errorf("TK-3 written after: %+v, %v; want accepted", r, err)
	}
}

func outcomes(rs [][]adapters.Result) [][]string {
	var out [][]string
	for _, b := range rs {
		var o []string
		for _, r := range b {
			o = append(o, r.Outcome)
		}
		out = append(out, o)
	}
	return out
}
