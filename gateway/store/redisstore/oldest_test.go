package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// The purge index holds each identity's oldest declared time through writes of newer
// versions (which leave it alone), of older ones (which lower it) and of an absorbed
// identity's versions; a purge that keeps some versions sets it to the oldest kept.
func TestOldestIndexFollowsTheOldestVersion(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	score := func(q string) time.Time {
		t.Helper()
		ms, err := s.c.ZScore(ctx, s.k.oldest(bucketOf(q)), q).Result()
		if err != nil {
			t.Fatalf("oldest index entry of %s: %v", q, err)
		}
		return time.UnixMilli(int64(ms)).UTC()
	}
	write := func(items ...store.Item) {
		t.Helper()
		res, err := s.WriteBatch(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != store.OutcomeAccepted {
				t.Fatalf("item %d: %+v, want accepted", i, r)
			}
		}
	}
	at := func(h int) time.Time { return day0.Add(time.Duration(h) * time.Hour) }

	write(accepted("q1", realistic(1, canonical.PlatformNCOVI, at(5))))
	if got := score("q1"); !got.Equal(at(5)) {
		t.Fatalf("after the first write: %v, want %v", got, at(5))
	}
	write(accepted("q1", realistic(1, canonical.PlatformBluezone, at(7))))
	if got := score("q1"); !got.Equal(at(5)) {
		t.Fatalf("after a newer version: %v, want %v", got, at(5))
	}
	write(accepted("q1", realistic(1, canonical.PlatformTokhaiyte, at(2))))
	if got := score("q1"); !got.Equal(at(2)) {
		t.Fatalf("after an older version: %v, want %v", got, at(2))
	}

	// q1 absorbs q2, whose version is older than all of q1's.
	write(accepted("q2", realistic(2, canonical.PlatformNCOVI, at(1))))
	strong := accepted("q1", realistic(1, canonical.PlatformNCOVI, at(9)))
	strong.Accepted.Aliases = []string{"q2"}
	write(strong)
	if got := score("q1"); !got.Equal(at(1)) {
		t.Fatalf("after absorbing an older identity: %v, want %v", got, at(1))
	}

	// A purge of everything before hour 3 keeps the versions of hours 5, 7 and 9.
	if _, err := s.Purge(ctx, at(3)); err != nil {
		t.Fatal(err)
	}
	if got := score("q1"); !got.Equal(at(5)) {
		t.Fatalf("after a purge: %v, want %v", got, at(5))
	}
	write(accepted("q1", realistic(1, canonical.PlatformBluezone, at(8))))
	if got := score("q1"); !got.Equal(at(5)) {
		t.Fatalf("after a newer version following the purge: %v, want %v", got, at(5))
	}
}
