package redisstore

import (
	"context"
	"testing"
	"time"

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
