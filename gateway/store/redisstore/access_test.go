package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/gateway/store"
)

// Accesses of a QR id by one principal are read from the QR id's index past many of other
// principals, page by page, newest first, each once.
func TestAccessLogOfQRIDAndPrincipal(t *testing.T) {
	s := openTest(t)
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
	s := openTest(t)
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

// Accesses of many calls, principals and seconds (so several chunks per window and bucket),
// with some written by earlier versions, are listed whole, newest first, each once, at every
// page size, for every query.
func TestAccessLogPagesChunksAndLegacy(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	principals := []string{"p1", "p2", "p|x", "p/x"} // the last two share an index name
	var all []store.Access
	for i := 0; i < 360; i++ {
		a := store.Access{
			At:        day0.Add(time.Duration(i/2) * 53 * time.Millisecond), // pairs at one instant
			Principal: principals[i%len(principals)],
			Role:      "checkpoint",
			Action:    "lookup",
			QRID:      fmt.Sprintf("q%d", i%40),
			Reason:    strconv.Itoa(i),
		}
		if i%10 == 0 {
			a.QRID = ""
		}
		all = append(all, a)
	}
	// Every tenth access as an earlier version wrote it: per-access members, half of them
	// naming a record in the bucket's hash.
	var fresh []store.Access
	for i, a := range all {
		if i%10 != 3 {
			fresh = append(fresh, a)
			continue
		}
		b := bucketOf(a.QRID)
		id := fmt.Sprintf("%016x", i)
		suffix := stamp(a.At) + "|" + bucketText(b) + "|" + id
		if i%20 == 3 {
			if err := s.c.HSet(ctx, s.k.access(b), id, encodeAccess(&a)).Err(); err != nil {
				t.Fatal(err)
			}
		} else {
			suffix += "|" + string(encodeAccess(&a))
		}
		for _, p := range []string{"a|", "q|" + clean(a.QRID) + "|", "u|" + clean(a.Principal) + "|"} {
			if err := s.c.ZAdd(ctx, s.k.accessIndex(b), redis.Z{Member: p + suffix}).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The rest in calls of uneven sizes, out of order, so one second's accesses of one
	// principal are in several chunks.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(fresh), func(i, j int) { fresh[i], fresh[j] = fresh[j], fresh[i] })
	for len(fresh) > 0 {
		k := min(len(fresh), 1+r.IntN(60))
		if err := s.AppendAccess(ctx, fresh[:k]...); err != nil {
			t.Fatal(err)
		}
		fresh = fresh[k:]
	}
	queries := []store.AccessQuery{{}, {Principal: "p1"}, {Principal: "p|x"}, {Principal: "p/x"}, {QRID: "q7"}, {QRID: "q3", Principal: "p2"}}
	defer func(n int) { chunkReads = n }(chunkReads)
	for _, reads := range []int{2, chunkReads} { // rounds that read part of a window's chunks, and all
		chunkReads = reads
		pagesOf(t, s, all, queries)
	}
}

// pagesOf lists every query at several page sizes and compares with all's accesses.
func pagesOf(t *testing.T, s *Store, all []store.Access, queries []store.AccessQuery) {
	t.Helper()
	ctx := context.Background()
	for _, q0 := range queries {
		var want []store.Access
		for _, a := range all {
			if q0.Matches(a) {
				want = append(want, a)
			}
		}
		for _, size := range []int{3, 7, 50, 0} {
			q := q0
			q.PageSize = size
			var got []store.Access
			for page := 0; ; page++ {
				if page > len(want)+1 {
					t.Fatalf("%+v: paging does not end", q0)
				}
				as, next, err := s.AccessLog(ctx, q)
				if err != nil {
					t.Fatalf("%+v: %v", q0, err)
				}
				if size > 0 && len(as) > size {
					t.Fatalf("%+v: page of %d", q0, len(as))
				}
				got = append(got, as...)
				if next == "" {
					break
				}
				q.PageToken = next
			}
			if !sameAccesses(got, want) {
				t.Errorf("%+v, page size %d: %d accesses, want %d (or not newest first, or not as stored)", q0, size, len(got), len(want))
			}
		}
	}
}

// sameAccesses reports whether got is want newest first (equal times in any order).
func sameAccesses(got, want []store.Access) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]store.Access{}
	for _, a := range want {
		seen[a.Reason] = a
	}
	for i, a := range got {
		w, ok := seen[a.Reason]
		if !ok || !reflect.DeepEqual(a, w) || (i > 0 && got[i-1].At.Before(a.At)) {
			return false
		}
		delete(seen, a.Reason)
	}
	return true
}

// An access of a QR id is one entry of the QR id's access key; the accesses of a principal in
// one second of one call share a chunk and its two members.
func TestAccessEntriesPerAccess(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var as []store.Access
	for i := 0; i < 100; i++ {
		as = append(as, store.Access{At: day0.Add(time.Duration(i) * time.Millisecond), Principal: "station-1", Role: "checkpoint", Action: "lookup", QRID: fmt.Sprintf("q%d", i%50)})
	}
	if err := s.AppendAccess(ctx, as...); err != nil {
		t.Fatal(err)
	}
	members, chunks := int64(0), int64(0)
	for b := 0; b < buckets; b++ {
		members += s.c.ZCard(ctx, s.k.accessIndex(b)).Val()
		chunks += s.c.HLen(ctx, s.k.accessChunks(b)).Val()
	}
	if members != 2 || chunks != 1 {
		t.Errorf("%d members and %d chunks for 100 accesses of one principal in one second, want 2 and 1", members, chunks)
	}
	for i := 0; i < 50; i++ {
		got, _, err := s.AccessLog(ctx, store.AccessQuery{QRID: fmt.Sprintf("q%d", i)})
		if err != nil || len(got) != 2 || !reflect.DeepEqual(got, []store.Access{as[i+50], as[i]}) {
			t.Errorf("accesses of q%d = %+v, %v; want accesses %d and %d", i, got, err, i+50, i)
		}
	}
}

// Accesses of a QR id written as index members "q|qrid|stamp|bucket|id|<access>" in bucket
// bucketOf(qrid) % 64, as the version before the QR ids' access keys wrote them
// (previousQRIDMember), are read with the entries written now, and an entry the client
// appended twice (its pipeline sent again after a lost reply) is read once.
func TestPreviousQRIDAccessMembersAreRead(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var all []store.Access
	for i := 0; i < 30; i++ {
		all = append(all, store.Access{At: day0.Add(time.Duration(i) * time.Second), Principal: fmt.Sprintf("p%d", i%3), Role: "checkpoint", Action: "lookup", QRID: "qA", Reason: strconv.Itoa(i)})
	}
	for i, a := range all {
		if i%2 == 0 {
			b := bucketOf(a.QRID) % 64
			if err := s.c.ZAdd(ctx, s.k.accessIndex(b), redis.Z{Member: previousQRIDMember(&a, b)}).Err(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := s.AppendAccess(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	val, err := s.c.Get(ctx, s.k.accessesOf("qA")).Result()
	if err != nil {
		t.Fatal(err)
	}
	d := dec{b: val}
	first := d.literal(d.u())
	if err := s.c.Append(ctx, s.k.accessesOf("qA"), val[:len(val)-len(d.b)]).Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, stamp(all[1].At)+"|") {
		t.Fatalf("first entry %q, want the key of access 1", first)
	}
	pagesOf(t, s, all, []store.AccessQuery{{QRID: "qA"}, {QRID: "qA", Principal: "p1"}})
}

// previousQRIDMember is an access's index member as the version before the QR ids' access
// keys wrote it (a fixture of the stored format: do not change it).
func previousQRIDMember(a *store.Access, b int) string {
	buf := append([]byte("q|"), clean(a.QRID)...)
	buf = append(buf, '|')
	buf = appendStampNs(buf, stampNs(a.At))
	buf = append(buf, '|')
	buf = appendBucketText(buf, b)
	buf = append(buf, '|')
	buf = appendRandomID(buf)
	buf = append(buf, '|')
	return string(appendAccess(buf, a))
}
