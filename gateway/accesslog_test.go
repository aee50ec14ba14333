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
