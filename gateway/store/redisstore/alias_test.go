package redisstore

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/test/redistest"
)

// TestAliasMoveCompletesAfterCrash stops a write after the strong identity has absorbed the
// weak one's versions but before the weak identity became an alias (the two are in different
// slots), then re-delivers the batch: the move completes, nothing is stored or counted twice.
func TestAliasMoveCompletesAfterCrash(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	s, err := Open(ctx, Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	w := testDecl(canonical.PlatformTokhaiyte, "t-1", day0)
	w.Person.Document = canonical.Document{}
	if _, err := s.WriteBatch(ctx, []store.Item{{Accepted: &store.Accepted{Declaration: w, QRID: "weak-1"}}}); err != nil {
		t.Fatal(err)
	}
	strong := store.Item{Accepted: &store.Accepted{Declaration: testDecl(canonical.PlatformNCOVI, "n-1", day0.Add(time.Hour)),
		QRID: "strong-1", Verified: true, Aliases: []string{"weak-1"}}}

	crash := errors.New("crash")
	s.beforeAliases = func() error { return crash }
	if _, err := s.WriteBatch(ctx, []store.Item{strong}); !errors.Is(err, crash) {
		t.Fatalf("WriteBatch with a crash before the alias step: %v", err)
	}
	// Half done: the strong identity has both versions, the weak one is still its own.
	if v, err := s.View(ctx, "weak-1"); err != nil || v.QRID != "weak-1" {
		t.Fatalf("weak view after the crash = %+v, %v; want still weak-1", v, err)
	}

	s.beforeAliases = nil
	res, err := s.WriteBatch(ctx, []store.Item{strong}) // at-least-once: the batch again
	if err != nil || res[0] != (store.Result{Outcome: store.OutcomeDuplicate, QRID: "strong-1"}) {
		t.Fatalf("re-delivery = %v, %v", res, err)
	}
	byWeak, err1 := s.View(ctx, "weak-1")
	byStrong, err2 := s.View(ctx, "strong-1")
	if err := errors.Join(err1, err2); err != nil || !reflect.DeepEqual(byWeak, byStrong) || len(byStrong.Latest) != 2 {
		t.Fatalf("views after the move: weak %+v strong %+v, %v", byWeak, byStrong, err)
	}
	h, err := s.History(ctx, "weak-1")
	if err != nil || len(h) != 2 {
		t.Errorf("history = %d versions, %v; want 2 (none twice)", len(h), err)
	}
	cs, err := s.Counts(ctx, store.CountQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range cs {
		n += c.N
	}
	if n != 2 {
		t.Errorf("counted %d declarations, want 2", n)
	}
}
