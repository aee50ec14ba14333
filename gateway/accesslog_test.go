package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
)

// A burst of lookups is logged completely, and Close waits for the queue to drain: every
// access the recorder took is in the store's access log afterwards.
func TestAccessRecorderLogsEveryLookup(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "a.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 3000
	rec := NewAccessRecorder(st, n, nil)
	at := time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)
	for i := range n {
		rec.Record(store.Access{At: at.Add(time.Duration(i) * time.Millisecond), Principal: "st1", Role: "checkpoint", Action: "lookup", QRID: fmt.Sprintf("q%05d", i)})
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rec.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	t.Logf("drained %d accesses in %s", n, time.Since(start))
	if rec.Dropped() != 0 {
		t.Fatalf("%d accesses dropped", rec.Dropped())
	}
	seen := map[string]bool{}
	for token := ""; ; {
		page, next, err := st.AccessLog(context.Background(), store.AccessQuery{PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			seen[a.QRID] = true
		}
		if next == "" {
			break
		}
		token = next
	}
	if len(seen) != n {
		t.Fatalf("%d of %d accesses in the log", len(seen), n)
	}
	// Recording after Close is counted as dropped, never a panic.
	rec.Record(store.Access{QRID: "late"})
	if rec.Dropped() != 1 {
		t.Fatalf("late access: dropped %d, want 1", rec.Dropped())
	}
}

// gatedAuditor is a real store whose AppendAccess calls each announce how many accesses they
// carry on calls and then wait for release: a store busy with long commits.
type gatedAuditor struct {
	store.Auditor
	calls   chan int
	release chan struct{}
}

func (g *gatedAuditor) AppendAccess(ctx context.Context, as ...store.Access) error {
	g.calls <- len(as)
	<-g.release
	return g.Auditor.AppendAccess(ctx, as...)
}

// While the store is busy (the embedded store's ingest commits take seconds), lookups fill
// the queue; the next store call takes the whole backlog, so lookups arriving during that
// call find room again and none is lost.
func TestAccessRecorderKeepsUpWithASlowStore(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "a.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := &gatedAuditor{Auditor: st, calls: make(chan int, 1), release: make(chan struct{})}
	const queue = 10_000
	rec := NewAccessRecorder(g, queue, nil)
	at := time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)
	n := 0
	record := func(k int) {
		for range k {
			rec.Record(store.Access{At: at.Add(time.Duration(n) * time.Millisecond), Principal: "st1", Role: "checkpoint", Action: "lookup", QRID: fmt.Sprintf("q%06d", n)})
			n++
		}
	}
	record(1)
	if got := <-g.calls; got != 1 {
		t.Fatalf("first call carries %d accesses, want 1", got)
	}
	record(queue) // the store is busy: they wait in the queue
	g.release <- struct{}{}
	if got := <-g.calls; got != queue {
		t.Fatalf("after a busy store the next call carries %d accesses, want the whole backlog of %d", got, queue)
	}
	record(queue) // while that call is busy in turn
	if d := rec.Dropped(); d != 0 {
		t.Fatalf("%d accesses dropped while the store was busy", d)
	}
	done := make(chan error, 1)
	go func() { done <- rec.Close(context.Background()) }()
	for closed := false; !closed; {
		select {
		case g.release <- struct{}{}:
		case <-g.calls:
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			closed = true
		}
	}
	total := 0
	for token := ""; ; {
		page, next, err := st.AccessLog(context.Background(), store.AccessQuery{PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		total += len(page)
		if next == "" {
			break
		}
		token = next
	}
	if total != n {
		t.Fatalf("%d of %d accesses in the log", total, n)
	}
}
