package redisstore

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/test/redistest"
)

// Accesses of a QR id by one principal are read from the QR id's index past many of other
// principals, page by page, newest first, each once.
func TestAccessLogOfQRIDAndPrincipal(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s, err := Open(context.Background(), Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var as []store.Access
	for i := 0; i < 700; i++ {
		p := "station-1"
		if i%7 == 0 {
			p = "station-2"
		}
		as = append(as, store.Access{At: day0.Add(time.Duration(i) * time.Second), Principal: p, Role: "checkpoint", Action: "lookup", QRID: "qA"})
	}
	if err := s.AppendAccess(ctx, as...); err != nil {
		t.Fatal(err)
	}
	q := store.AccessQuery{QRID: "qA", Principal: "station-2", PageSize: 7}
	var got []store.Access
	for page := 0; ; page++ {
		if page > 20 {
			t.Fatal("paging does not end")
		}
		page, next, err := s.AccessLog(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 7 {
			t.Fatalf("page of %d", len(page))
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		q.PageToken = next
	}
	if len(got) != 100 {
		t.Fatalf("%d accesses, want 100", len(got))
	}
	for i, a := range got {
		if want := day0.Add(time.Duration(7*(99-i)) * time.Second); a.Principal != "station-2" || !a.At.Equal(want) {
			t.Errorf("access %d = %s at %v, want station-2 at %v", i, a.Principal, a.At, want)
		}
	}
}

// Accesses written by earlier versions (a record in the bucket's hash, index members naming
// its id) are read with those written now.
func TestLegacyAccessesAreRead(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s, err := Open(context.Background(), Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	old := store.Access{At: day0, Principal: "station-1", Role: "checkpoint", Action: "lookup", QRID: "qA"}
	b := bucketOf("qA")
	suffix := stamp(old.At) + "|" + bucketText(b) + "|00000000000000aa"
	if err := s.c.HSet(ctx, s.k.access(b), "00000000000000aa", encodeAccess(&old)).Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a|", "q|qA|", "u|station-1|", "qu|qA|station-1|"} {
		if err := s.c.ZAdd(ctx, s.k.accessIndex(b), redis.Z{Member: p + suffix}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	now := old
	now.At = day0.Add(time.Second)
	if err := s.AppendAccess(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.AccessQuery{{}, {QRID: "qA"}, {Principal: "station-1"}, {QRID: "qA", Principal: "station-1"}} {
		got, next, err := s.AccessLog(ctx, q)
		if err != nil || next != "" || !reflect.DeepEqual(got, []store.Access{now, old}) {
			t.Errorf("AccessLog(%+v) = %+v, %q, %v", q, got, next, err)
		}
	}
}
