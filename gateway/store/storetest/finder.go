package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// subj returns decl with a subject id.
func subj(d canonical.Declaration, subject string) canonical.Declaration {
	d.Source.SubjectID = subject
	return d
}

func byRecord(p canonical.Platform, id string) store.SourceRef {
	return store.SourceRef{Platform: p, RecordID: id}
}

func bySubject(p canonical.Platform, id string) store.SourceRef {
	return store.SourceRef{Platform: p, SubjectID: id}
}

// wantIdentity checks that ref answers qrid ("" for errs.NotFound).
func wantIdentity(t *testing.T, s store.Store, ref store.SourceRef, qrid string) {
	t.Helper()
	got, err := s.IdentityOf(context.Background(), ref)
	if qrid == "" {
		if err == nil {
			t.Errorf("IdentityOf(%+v) = %q, want errs.NotFound", ref, got)
			return
		}
		wantNotFound(t, "IdentityOf", err)
		return
	}
	if err != nil || got != qrid {
		t.Errorf("IdentityOf(%+v) = %q, %v; want %q", ref, got, err, qrid)
	}
}

func testIdentityOfRecord(t *testing.T, e env) {
	write(t, e.s,
		acc("qA", subj(decl(canonical.PlatformNCOVI, "rec-1", day0, "v1"), "acct-1")),
		acc("qB", decl(canonical.PlatformBluezone, "rec-2", day0, "v1")),
		rej(decl(canonical.PlatformNCOVI, "rec-bad", day0, "v1"), canonical.ReasonRequired),
	)
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "rec-1"), "qA")
	wantIdentity(t, e.s, byRecord(canonical.PlatformBluezone, "rec-2"), "qB")
	// Ids are the platform's own: the same id on another platform is someone else's record.
	wantIdentity(t, e.s, byRecord(canonical.PlatformBluezone, "rec-1"), "")
	// A record id is not a subject id, nor the other way round.
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "rec-1"), "")
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "acct-1"), "")
	// A rejected record names no identity.
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "rec-bad"), "")
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "nobody"), "")
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "nobody"), "")
	// A prefix of a known id is not that id.
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "rec-"), "")
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "acct-"), "")

	// A corrected version filed under another identity (the document was fixed): the record
	// answers its newest version's identity.
	fixed := decl(canonical.PlatformNCOVI, "rec-1", day0, "v2")
	fixed.Person.Document.Number = "079090009999"
	write(t, e.s, acc("qA2", subj(fixed, "acct-1")))
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "rec-1"), "qA2")
}

func testIdentityOfSubject(t *testing.T, e env) {
	// A family account declares for a parent, then for a child; the child's declaration is
	// the newest by declared time.
	child := decl(canonical.PlatformNCOVI, "fam-2", day0.Add(2*time.Hour), "v1")
	child.Person.Document = canonical.Document{Type: canonical.DocumentCCCD, Number: "079120000001"}
	write(t, e.s,
		acc("qParent", subj(decl(canonical.PlatformNCOVI, "fam-1", day0, "v1"), "family")),
		acc("qChild", subj(child, "family")),
	)
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "family"), "qChild")
	// A declaration for the parent that arrives late but was declared before the child's
	// does not change the answer: it goes by declared time, not arrival.
	write(t, e.s, acc("qParent", subj(decl(canonical.PlatformNCOVI, "fam-3", day0.Add(time.Hour), "v1"), "family")))
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "family"), "qChild")
	// A newer one for the parent does.
	write(t, e.s, acc("qParent", subj(decl(canonical.PlatformNCOVI, "fam-4", day0.Add(3*time.Hour), "v1"), "family")))
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "family"), "qParent")
	// Each record still answers its own person.
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "fam-2"), "qChild")
	// The same subject id on another platform is another account.
	wantIdentity(t, e.s, bySubject(canonical.PlatformBluezone, "family"), "")
}

func testIdentityOfAlias(t *testing.T, e env) {
	w := decl(canonical.PlatformTokhaiyte, "t-1", day0, "v1")
	w.Person.Document = canonical.Document{}
	w = subj(w, "tk-user")
	write(t, e.s, weak("weak-1", w))
	wantIdentity(t, e.s, byRecord(canonical.PlatformTokhaiyte, "t-1"), "weak-1")
	wantIdentity(t, e.s, bySubject(canonical.PlatformTokhaiyte, "tk-user"), "weak-1")
	// The strong identity absorbs the weak one: the weak one's records answer the strong one.
	write(t, e.s, acc("strong-1", decl(canonical.PlatformNCOVI, "n-1", day0.Add(time.Hour), "v1"), "weak-1"))
	wantIdentity(t, e.s, byRecord(canonical.PlatformTokhaiyte, "t-1"), "strong-1")
	wantIdentity(t, e.s, bySubject(canonical.PlatformTokhaiyte, "tk-user"), "strong-1")
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "n-1"), "strong-1")
	// A later weak declaration, written to the weak id, lands in (and answers) the strong one.
	w2 := subj(decl(canonical.PlatformTokhaiyte, "t-2", day0.Add(2*time.Hour), "v1"), "tk-user")
	w2.Person.Document = canonical.Document{}
	write(t, e.s, weak("weak-1", w2))
	wantIdentity(t, e.s, byRecord(canonical.PlatformTokhaiyte, "t-2"), "strong-1")
	wantIdentity(t, e.s, bySubject(canonical.PlatformTokhaiyte, "tk-user"), "strong-1")
}

func testIdentityOfRedelivery(t *testing.T, e env) {
	items := []store.Item{
		acc("qA", subj(decl(canonical.PlatformBluezone, "bz-1", day0, "v1"), "bz-user")),
		acc("qA", subj(decl(canonical.PlatformBluezone, "bz-2", day0.Add(time.Hour), "v1"), "bz-user")),
	}
	write(t, e.s, items...)
	for i := 0; i < 2; i++ {
		res := write(t, e.s, items...)
		wantResults(t, res, store.Result{Outcome: store.OutcomeDuplicate, QRID: "qA"}, store.Result{Outcome: store.OutcomeDuplicate, QRID: "qA"})
	}
	wantIdentity(t, e.s, byRecord(canonical.PlatformBluezone, "bz-1"), "qA")
	wantIdentity(t, e.s, bySubject(canonical.PlatformBluezone, "bz-user"), "qA")
}

func testIdentityOfPurge(t *testing.T, e env) {
	ctx := context.Background()
	old := day0.Add(-40 * 24 * time.Hour)
	cutoff := day0.Add(-30 * 24 * time.Hour)
	other := decl(canonical.PlatformNCOVI, "n-new", day0, "v1")
	other.Person.Document.Number = "079090005555"
	write(t, e.s,
		acc("qOld", subj(decl(canonical.PlatformNCOVI, "n-old", old, "v1"), "acct")),
		acc("qNew", subj(other, "acct")),
		acc("qGone", subj(decl(canonical.PlatformBluezone, "b-old", old, "v1"), "bz-gone")),
	)
	if _, err := e.s.Purge(ctx, cutoff); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "n-old"), "")
	wantIdentity(t, e.s, byRecord(canonical.PlatformBluezone, "b-old"), "")
	wantIdentity(t, e.s, bySubject(canonical.PlatformBluezone, "bz-gone"), "")
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "n-new"), "qNew")
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "acct"), "qNew")
	if _, err := e.s.Purge(ctx, day0.Add(time.Hour)); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	wantIdentity(t, e.s, bySubject(canonical.PlatformNCOVI, "acct"), "")
	wantIdentity(t, e.s, byRecord(canonical.PlatformNCOVI, "n-new"), "")
}
