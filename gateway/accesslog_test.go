package gateway_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
)

// slowAuditor is the real store whose AppendAccess waits for release, as a slow store does.
type slowAuditor struct {
	*boltstore.Store
	entered chan struct{}
	release chan struct{}
}

func (s slowAuditor) AppendAccess(ctx context.Context, a store.Access) error {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.AppendAccess(ctx, a)
}

// TestAccessRecorderNeverBlocksALookup: with the store stuck, a full queue drops (and counts)
// accesses instead of holding the lookup; Close writes what was queued.
func TestAccessRecorderNeverBlocksALookup(t *testing.T) {
	st, err := boltstore.Open(t.TempDir()+"/lienthong.db", boltstore.Options{NoSync: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow := slowAuditor{Store: st, entered: make(chan struct{}, 1), release: make(chan struct{})}
	rec := gateway.NewAccessRecorder(slow, 1, slog.New(slog.DiscardHandler))
	access := func(qrid string) store.Access {
		return store.Access{At: t0, Principal: "checkpoint-79", Role: "checkpoint", Action: "lookup", QRID: qrid}
	}
	rec.Record(access("a"))
	<-slow.entered          // the writer holds "a" and is stuck in the store
	rec.Record(access("b")) // queued (the queue holds one)
	rec.Record(access("c")) // the queue is full: dropped at once, not waited for
	if got := rec.Dropped(); got != 1 {
		t.Fatalf("dropped %d, want 1", got)
	}
	close(slow.release)
	go func() {
		for range slow.entered { // let "b" through
		}
	}()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.Close(c); err != nil {
		t.Fatal(err)
	}
	close(slow.entered)
	log, _, err := st.AccessLog(context.Background(), store.AccessQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 {
		t.Fatalf("%d accesses written, want 2 (a and b)", len(log))
	}
	// After Close nothing is taken, and that is counted too; Close again is harmless.
	rec.Record(access("d"))
	if got := rec.Dropped(); got != 2 {
		t.Fatalf("dropped %d after close, want 2", got)
	}
	if err := rec.Close(c); err != nil {
		t.Fatal(err)
	}
}
