package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// workload returns a deterministic mix of declarations about a few identities from every
// platform with several versions each, and some rejections, shuffled.
func workload(seed uint64) []store.Item {
	r := rand.New(rand.NewPCG(seed, 7))
	var items []store.Item
	for id := range 12 {
		q := fmt.Sprintf("q%02d", id)
		for pi, p := range []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte} {
			for v := range 3 {
				d := decl(p, fmt.Sprintf("%s-%d", q, v%2), day0.Add(time.Duration(r.IntN(5))*time.Hour), fmt.Sprintf("v%d", v))
				d.Person.Phone = fmt.Sprintf("+8491234567%d", (id+pi+v)%3)
				d.Health.HasSymptoms = r.IntN(4) == 0
				a := &store.Accepted{Declaration: d, QRID: q, Verified: pi != 2}
				if id%4 == 0 {
					// tokhaiyte knows this person only by the weak key, which the others' strong
					// identity absorbs: weak and strong writes race.
					if p == canonical.PlatformTokhaiyte {
						a.QRID = "w" + q
					} else {
						a.Aliases = []string{"w" + q}
					}
				}
				items = append(items, store.Item{Accepted: a})
			}
		}
		items = append(items, rej(decl(canonical.PlatformTokhaiyte, "bad-"+q, day0, "v1"), canonical.ReasonInvalidPhone))
	}
	r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	return items
}

type state struct {
	Views     []store.View
	Histories [][]canonical.Declaration
	Counts    []store.Count
}

func stateOf(t *testing.T, s store.Store) state {
	t.Helper()
	var st state
	for id := range 12 {
		q := fmt.Sprintf("q%02d", id)
		v := view(t, s, q)
		v.Revision = 0 // counts changes, which depend on the order
		st.Views = append(st.Views, v)
		st.Histories = append(st.Histories, history(t, s, q))
		if id%4 == 0 {
			w := view(t, s, "w"+q)
			w.Revision = 0
			if !reflect.DeepEqual(w, v) {
				t.Errorf("View(w%s) = %+v, want the strong identity's view %+v", q, w, v)
			}
		}
	}
	st.Counts = counts(t, s, store.CountQuery{})
	return st
}

func testConcurrentWrites(t *testing.T, e env) {
	items := workload(1)
	sequential := e.open()
	for _, it := range items {
		write(t, sequential, it)
	}
	want := stateOf(t, sequential)

	// Eight writers send overlapping batches in their own random orders: every item at least
	// once, many twice (at-least-once delivery).
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			mine := make([]store.Item, 0, len(items))
			for i, it := range items {
				if i%8 == w || r.IntN(4) == 0 {
					mine = append(mine, it)
				}
			}
			r.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			for len(mine) > 0 {
				n := min(1+r.IntN(7), len(mine))
				if _, err := e.s.WriteBatch(context.Background(), mine[:n]); err != nil {
					errc <- err
					return
				}
				mine = mine[n:]
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("concurrent WriteBatch: %v", err)
	}
	if got := stateOf(t, e.s); !reflect.DeepEqual(got, want) {
		t.Errorf("concurrent writes differ from a sequential run:\n got %+v\nwant %+v", got, want)
	}
}

func testConcurrentDuplicates(t *testing.T, e env) {
	it := acc("qA", decl(canonical.PlatformNCOVI, "n-1", day0, "v1"))
	start := make(chan struct{})
	results := make(chan store.Result, 8)
	errc := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := e.s.WriteBatch(context.Background(), []store.Item{it})
			if err != nil {
				errc <- err
				return
			}
			results <- res[0]
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	close(errc)
	for err := range errc {
		t.Fatalf("WriteBatch: %v", err)
	}
	accepted := 0
	for r := range results {
		if r.QRID != "qA" {
			t.Errorf("result %+v, want QRID qA", r)
		}
		if r.Outcome == store.OutcomeAccepted {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("%d deliveries accepted, want exactly 1 (the rest duplicates)", accepted)
	}
	if n := sum(counts(t, e.s, store.CountQuery{})); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
	if h := history(t, e.s, "qA"); len(h) != 1 {
		t.Errorf("history has %d versions, want 1", len(h))
	}
}

func testPingClose(t *testing.T, e env) {
	if err := e.s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := e.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
