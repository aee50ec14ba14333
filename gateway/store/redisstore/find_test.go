package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/test/redistest"
)

// TestIdentityOfAfterACrash: the source index is written before the identity's script (in
// another slot of a Cluster). A crash in between leaves entries naming an identity that does
// not hold the record (yet); they answer NotFound, never a wrong person, and the retried
// batch completes them.
func TestIdentityOfAfterACrash(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	s, err := Open(context.Background(), Options{Addrs: c.Addrs(), Cluster: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	first := testDecl(canonical.PlatformNCOVI, "nc-1", day0)
	first.Source.SubjectID = "acct"
	if _, err := s.WriteBatch(ctx, []store.Item{accepted("qA", first)}); err != nil {
		t.Fatal(err)
	}
	// A newer declaration of the same account, for a new identity (qB) and for qA (nc-3),
	// cut off after the index writes.
	forB := testDecl(canonical.PlatformNCOVI, "nc-2", day0.Add(time.Hour))
	forB.Source.SubjectID = "acct"
	forB.Person.Document.Number = "079185009999"
	again := testDecl(canonical.PlatformNCOVI, "nc-3", day0.Add(2*time.Hour))
	batch := []store.Item{accepted("qB", forB), accepted("qA", again)}
	crash := errors.New("crash")
	s.afterIndex = func() error { return crash }
	if _, err := s.WriteBatch(ctx, batch); !errors.Is(err, crash) {
		t.Fatalf("WriteBatch = %v, want the crash", err)
	}
	s.afterIndex = nil
	for _, tc := range []struct {
		name string
		ref  store.SourceRef
		want string // "" for NotFound
	}{
		{"record of an identity not stored", store.SourceRef{Platform: canonical.PlatformNCOVI, RecordID: "nc-2"}, ""},
		// qA exists, but does not hold nc-3 yet.
		{"record not in its identity yet", store.SourceRef{Platform: canonical.PlatformNCOVI, RecordID: "nc-3"}, ""},
		// The account's entry already points at nc-2, whose identity is not stored.
		{"subject whose newest is not stored", store.SourceRef{Platform: canonical.PlatformNCOVI, SubjectID: "acct"}, ""},
		{"record stored before", store.SourceRef{Platform: canonical.PlatformNCOVI, RecordID: "nc-1"}, "qA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.IdentityOf(ctx, tc.ref)
			if tc.want == "" && !errs.Is(err, errs.NotFound) || tc.want != "" && (err != nil || got != tc.want) {
				t.Errorf("IdentityOf = %q, %v; want %q (\"\" for NotFound)", got, err, tc.want)
			}
		})
	}
	// The partner re-delivers the batch: everything answers.
	if _, err := s.WriteBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[store.SourceRef]string{
		{Platform: canonical.PlatformNCOVI, RecordID: "nc-2"}:  "qB",
		{Platform: canonical.PlatformNCOVI, RecordID: "nc-3"}:  "qA",
		{Platform: canonical.PlatformNCOVI, SubjectID: "acct"}: "qB",
	} {
		if got, err := s.IdentityOf(ctx, ref); err != nil || got != want {
			t.Errorf("IdentityOf(%+v) after re-delivery = %q, %v; want %q", ref, got, err, want)
		}
	}
}

// TestIdentityOfCollision: an index entry shared by two ids (their hashes agree on 46 bits)
// names the identity of the one written last; the other answers NotFound, not that person.
func TestIdentityOfCollision(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.WriteBatch(ctx, []store.Item{accepted("qA", testDecl(canonical.PlatformNCOVI, "nc-1", day0))}); err != nil {
		t.Fatal(err)
	}
	// Simulate the collision: nc-1's entry now names qOther, an identity without nc-1.
	other := testDecl(canonical.PlatformNCOVI, "nc-other", day0)
	other.Person.Document.Number = "079185007777"
	if _, err := s.WriteBatch(ctx, []store.Item{accepted("qOther", other)}); err != nil {
		t.Fatal(err)
	}
	key, field := s.k.sourceIndex(sourceHash(indexRecord, canonical.PlatformNCOVI, "nc-1"))
	if err := s.c.HSet(ctx, key, field, "qOther").Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.IdentityOf(ctx, store.SourceRef{Platform: canonical.PlatformNCOVI, RecordID: "nc-1"})
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("IdentityOf = %q, %v; want NotFound", got, err)
	}
}
