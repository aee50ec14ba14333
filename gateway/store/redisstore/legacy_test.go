package redisstore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// An identity stored by earlier versions (a DEFLATE-compressed view, its versions in the
// versions key) is read, and its next write moves the versions into the view's key.
func TestLegacyIdentityIsReadAndRewritten(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	first := realistic(1, canonical.PlatformNCOVI, day0)
	v, _ := store.Apply(store.View{}, store.Accepted{Declaration: first, QRID: "q1"})
	if err := s.c.Set(ctx, s.k.view("q1"), legacyView(&v, 1), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Set(ctx, s.k.decl("q1"), legacyVersions([]canonical.Declaration{first}), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.View(ctx, "q1"); err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("View = %+v, %v\nwant %+v", got, err, v)
	}
	if h, err := s.History(ctx, "q1"); err != nil || len(h) != 1 || !reflect.DeepEqual(h[0], first) {
		t.Fatalf("History = %+v, %v", h, err)
	}
	second := realistic(1, canonical.PlatformBluezone, day0.Add(time.Hour))
	res, err := s.WriteBatch(ctx, []store.Item{accepted("q1", first), accepted("q1", second)})
	if err != nil || res[0].Outcome != store.OutcomeDuplicate || res[1].Outcome != store.OutcomeAccepted {
		t.Fatalf("WriteBatch = %+v, %v", res, err)
	}
	if h, err := s.History(ctx, "q1"); err != nil || len(h) != 2 {
		t.Fatalf("History after a write = %+v, %v", h, err)
	}
	if n, err := s.c.Exists(ctx, s.k.decl("q1")).Result(); err != nil || n != 0 {
		t.Errorf("versions key after a write: exists %d, %v; want deleted", n, err)
	}
}
