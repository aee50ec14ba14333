package redisstore

import (
	"context"
	"sync"
	"testing"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/test/redistest"
)

// Concurrent lookups share pipelines and each gets its own answer; a caller whose context is
// done gets its error; after Close no flusher is left and lookups fail as Transient.
func TestCoalescedViews(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s, err := Open(context.Background(), Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	const identities = 50
	load(t, s, identities, false)
	var wg sync.WaitGroup
	for c := 0; c < 200; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				q := qridOf((c + i) % identities)
				v, err := s.View(context.Background(), q)
				if err != nil || v.QRID != q {
					t.Errorf("View(%s) = %s, %v", q, v.QRID, err)
					return
				}
			}
			// An unknown id among them is NotFound.
			if _, err := s.View(context.Background(), "unknown"); errs.KindOf(err) != errs.NotFound {
				t.Errorf("View(unknown) = %v, want NotFound", err)
			}
		}()
	}
	wg.Wait()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.View(ctx, qridOf(1)); errs.KindOf(err) != errs.Transient {
		t.Errorf("View with a cancelled context = %v, want Transient", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.View(context.Background(), qridOf(1)); errs.KindOf(err) != errs.Transient {
		t.Errorf("View after Close = %v, want Transient", err)
	}
	select {
	case <-s.gets.done:
	default:
		t.Error("after Close: the flusher runs")
	}
	s.gets.mu.Lock()
	defer s.gets.mu.Unlock()
	if len(s.gets.queue) != 0 {
		t.Errorf("after Close: %d queued", len(s.gets.queue))
	}
}
