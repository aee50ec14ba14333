package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

func testPurge(t *testing.T, e env) {
	ctx := context.Background()
	old := day0.Add(-40 * 24 * time.Hour)
	cutoff := day0.Add(-30 * 24 * time.Hour)
	oldMix := decl(canonical.PlatformNCOVI, "n-old", old, "v1")
	oldMix.Person.Phone = "+84987654321"
	write(t, e.s,
		acc("qOld", decl(canonical.PlatformNCOVI, "n-only-old", old, "v1")),
		acc("qMix", oldMix),
		acc("qMix", decl(canonical.PlatformBluezone, "b-new", day0, "v1")),
		rej(decl(canonical.PlatformTokhaiyte, "t-old", old, "v1"), canonical.ReasonRequired),
		rej(decl(canonical.PlatformTokhaiyte, "t-new", day0, "v1"), canonical.ReasonRequired),
	)
	// A version declared exactly at the cutoff is kept ("before cutoff" is strict).
	write(t, e.s, acc("qEdge", decl(canonical.PlatformNCOVI, "n-edge", cutoff, "v1")))
	countsBefore := counts(t, e.s, store.CountQuery{})
	revBefore := view(t, e.s, "qMix").Revision

	n, err := e.s.Purge(ctx, cutoff)
	if err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3 (two versions, one rejection)", n, err)
	}
	_, err = e.s.View(ctx, "qOld")
	wantNotFound(t, "View of an identity whose declarations were all purged", err)
	_, err = e.s.History(ctx, "qOld")
	wantNotFound(t, "History of an identity whose declarations were all purged", err)

	v := view(t, e.s, "qMix")
	if got := platforms(v); !reflect.DeepEqual(got, []canonical.Platform{canonical.PlatformBluezone}) || v.Revision <= revBefore {
		t.Errorf("rebuilt view = %+v (revision before %d)", v, revBefore)
	}
	if len(v.Inconsistencies) != 0 {
		t.Errorf("inconsistencies with a purged declaration remain: %+v", v.Inconsistencies)
	}
	vs, _, err := e.s.Inconsistencies(ctx, store.InconsistencyQuery{})
	if err != nil || len(vs) != 0 {
		t.Errorf("Inconsistencies after purge = %+v, %v; want none", vs, err)
	}
	if got := records(history(t, e.s, "qMix")); !reflect.DeepEqual(got, []string{"bluezone/b-new/v1"}) {
		t.Errorf("history = %v", got)
	}
	view(t, e.s, "qEdge")
	rs, _, err := e.s.Rejections(ctx, store.RejectionQuery{})
	if err != nil || len(rs) != 1 || rs[0].Declaration.Source.RecordID != "t-new" {
		t.Errorf("rejections after purge = %+v, %v", rs, err)
	}
	if got := counts(t, e.s, store.CountQuery{}); !reflect.DeepEqual(got, countsBefore) {
		t.Errorf("purge changed the counters:\nbefore %+v\nafter  %+v", countsBefore, got)
	}
	if n, err := e.s.Purge(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want 0", n, err)
	}
	// A purged record delivered again is stored again: it is new to the store.
	if res := write(t, e.s, acc("qOld", decl(canonical.PlatformNCOVI, "n-only-old", old, "v1"))); res[0].Outcome != store.OutcomeAccepted {
		t.Errorf("re-delivered purged record: %v", res[0])
	}
}
