package storetest

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// snapshot is everything a duplicate must leave unchanged.
type snapshot struct {
	Views      []store.View
	Histories  [][]canonical.Declaration
	Counts     []store.Count
	Rejections []store.Rejected
}

func snap(t *testing.T, s store.Store, qrids ...string) snapshot {
	t.Helper()
	var out snapshot
	for _, q := range qrids {
		out.Views = append(out.Views, view(t, s, q))
		out.Histories = append(out.Histories, history(t, s, q))
	}
	out.Counts = counts(t, s, store.CountQuery{})
	rs, _, err := s.Rejections(context.Background(), store.RejectionQuery{PageSize: 1000})
	if err != nil {
		t.Fatalf("Rejections: %v", err)
	}
	out.Rejections = rs
	return out
}

func testAcceptedThenDuplicate(t *testing.T, e env) {
	d := decl(canonical.PlatformNCOVI, "n-1", day0, "v1")
	wantResults(t, write(t, e.s, acc("qA", d)), store.Result{Outcome: store.OutcomeAccepted, QRID: "qA"})

	v := view(t, e.s, "qA")
	if v.QRID != "qA" || !v.Verified || len(v.Latest) != 1 || v.Revision == 0 {
		t.Fatalf("view = %+v", v)
	}
	if v.Person.FullName != "Nguyễn Văn An" || v.Person.DocumentMasked != "********1234" || v.Person.BirthYear != 1990 {
		t.Errorf("person = %+v", v.Person)
	}
	if got := v.Latest[0]; got.RecordID != "n-1" || !got.DeclaredAt.Equal(day0) || got.Phone != "+84912345678" {
		t.Errorf("latest = %+v", got)
	}
	if h := history(t, e.s, "qA"); len(h) != 1 || !reflect.DeepEqual(h[0], d) {
		t.Errorf("history = %+v, want exactly the stored declaration", h)
	}

	before := snap(t, e.s, "qA")
	// At-least-once delivery: the same record version again, even with a later received
	// time, is a duplicate and changes nothing (not even the view's revision).
	again := d
	again.ReceivedAt = again.ReceivedAt.Add(time.Hour)
	wantResults(t, write(t, e.s, acc("qA", again)), store.Result{Outcome: store.OutcomeDuplicate, QRID: "qA"})
	if after := snap(t, e.s, "qA"); !reflect.DeepEqual(before, after) {
		t.Errorf("a duplicate changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
}

func testRejected(t *testing.T, e env) {
	d := decl(canonical.PlatformBluezone, "b-bad", day0, "v1")
	d.Person.Phone = "0123"
	// Two violations with one reason count once for that reason.
	bad := rej(d, canonical.ReasonInvalidPhone, canonical.ReasonRequired, canonical.ReasonInvalidPhone)
	wantResults(t, write(t, e.s, bad), store.Result{Outcome: store.OutcomeRejected})

	rs, next, err := e.s.Rejections(context.Background(), store.RejectionQuery{})
	if err != nil || next != "" {
		t.Fatalf("Rejections: %v, next %q", err, next)
	}
	if len(rs) != 1 || !reflect.DeepEqual(rs[0], *bad.Rejected) {
		t.Fatalf("rejections = %+v, want the rejected declaration with its violations", rs)
	}
	wantCells := []store.Count{
		{Counter: store.CounterDeclarations, Day: "2026-11-20", Platform: canonical.PlatformBluezone, Outcome: store.OutcomeRejected,
			Reason: canonical.ReasonInvalidPhone, Province: "79", Province2025: "79", N: 1},
		{Counter: store.CounterDeclarations, Day: "2026-11-20", Platform: canonical.PlatformBluezone, Outcome: store.OutcomeRejected,
			Reason: canonical.ReasonRequired, Province: "79", Province2025: "79", N: 1},
	}
	store.SortCounts(wantCells)
	if got := counts(t, e.s, store.CountQuery{}); !reflect.DeepEqual(got, wantCells) {
		t.Errorf("counts = %+v\nwant %+v", got, wantCells)
	}

	before := snap(t, e.s)
	wantResults(t, write(t, e.s, bad), store.Result{Outcome: store.OutcomeDuplicate})
	if after := snap(t, e.s); !reflect.DeepEqual(before, after) {
		t.Errorf("a re-delivered rejection changed the store:\nbefore %+v\nafter  %+v", before, after)
	}
	wantNotFound(t, "no view for a rejected declaration", viewErr(e.s, ""))
}

func viewErr(s store.Store, qrid string) error {
	_, err := s.View(context.Background(), qrid)
	return err
}

func testMixedBatch(t *testing.T, e env) {
	good1 := decl(canonical.PlatformNCOVI, "n-1", day0, "v1")
	good2 := decl(canonical.PlatformTokhaiyte, "t-1", day0, "v1")
	bad := decl(canonical.PlatformTokhaiyte, "t-2", day0, "v1")
	// A bad record between good ones takes none of them down, and the same record twice in
	// one batch is stored once.
	res := write(t, e.s, acc("qA", good1), rej(bad, canonical.ReasonMalformedRow), acc("qB", good2), acc("qA", good1))
	wantResults(t, res,
		store.Result{Outcome: store.OutcomeAccepted, QRID: "qA"},
		store.Result{Outcome: store.OutcomeRejected},
		store.Result{Outcome: store.OutcomeAccepted, QRID: "qB"},
		store.Result{Outcome: store.OutcomeDuplicate, QRID: "qA"},
	)
	if h := history(t, e.s, "qA"); len(h) != 1 {
		t.Errorf("history of qA has %d versions, want 1", len(h))
	}
	view(t, e.s, "qB")
	if got := sum(counts(t, e.s, store.CountQuery{Counter: store.CounterDeclarations})); got != 3 {
		t.Errorf("declaration count = %d, want 3 (2 accepted, 1 rejected reason)", got)
	}
}

func testEmptyBatch(t *testing.T, e env) {
	res, err := e.s.WriteBatch(context.Background(), nil)
	if err != nil || len(res) != 0 {
		t.Errorf("empty batch: %v, %v", res, err)
	}
}

func testLatestByDeclaredTime(t *testing.T, e env) {
	newer := decl(canonical.PlatformNCOVI, "n-2", day0.Add(time.Hour), "2026-11-20T02:00:00.000000000Z")
	older := decl(canonical.PlatformNCOVI, "n-1", day0, "2026-11-20T01:00:00.000000000Z")
	older.Person.Phone = "+84987654321"
	write(t, e.s, acc("qA", newer))
	rev := view(t, e.s, "qA").Revision
	// The older declaration arrives late: it is stored (history) but does not become latest,
	// and the view does not change at all.
	wantResults(t, write(t, e.s, acc("qA", older)), store.Result{Outcome: store.OutcomeAccepted, QRID: "qA"})
	v := view(t, e.s, "qA")
	if v.Latest[0].RecordID != "n-2" || v.Revision != rev {
		t.Errorf("late older declaration changed the view: latest %s, revision %d -> %d", v.Latest[0].RecordID, rev, v.Revision)
	}
	// An NCOVI correction: same record id and declared time, greater version.
	corrected := newer
	corrected.Source.Version = "2026-11-20T05:00:00.000000000Z"
	corrected.Health.HasSymptoms = true
	write(t, e.s, acc("qA", corrected))
	v = view(t, e.s, "qA")
	if v.Latest[0].Version != corrected.Source.Version || !v.Latest[0].HasSymptoms || v.Revision <= rev {
		t.Errorf("correction did not replace: %+v (revision %d)", v.Latest[0], v.Revision)
	}
	if got := store.StatusOf(v, day0.Add(2*time.Hour), 72*time.Hour); got != store.StatusScreen {
		t.Errorf("status = %s, want SCREEN from the correction", got)
	}
	want := []string{"ncovi/n-1/" + older.Source.Version, "ncovi/n-2/" + newer.Source.Version, "ncovi/n-2/" + corrected.Source.Version}
	if got := records(history(t, e.s, "qA")); !reflect.DeepEqual(got, want) {
		t.Errorf("history = %v, want oldest first %v", got, want)
	}
}

func testAliases(t *testing.T, e env) {
	// A tokhaiyte declaration without a document: keyed weakly (phone + name + year).
	w := decl(canonical.PlatformTokhaiyte, "t-1", day0, "v1")
	w.Person.Document = canonical.Document{}
	w.Person.Phone = "+84911111111"
	w.Person.BirthDate = canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}
	wantResults(t, write(t, e.s, weak("weak-1", w)), store.Result{Outcome: store.OutcomeAccepted, QRID: "weak-1"})
	if v := view(t, e.s, "weak-1"); v.Verified {
		t.Errorf("weak identity is verified")
	}
	countsBefore := counts(t, e.s, store.CountQuery{})

	// The same person declares on NCOVI with a CCCD: the strong identity absorbs the weak one.
	s := decl(canonical.PlatformNCOVI, "n-1", day0.Add(time.Hour), "v1")
	wantResults(t, write(t, e.s, acc("strong-1", s, "weak-1")), store.Result{Outcome: store.OutcomeAccepted, QRID: "strong-1"})
	byStrong := view(t, e.s, "strong-1")
	byWeak := view(t, e.s, "weak-1")
	if !reflect.DeepEqual(byStrong, byWeak) {
		t.Errorf("lookups disagree:\nstrong %+v\nweak   %+v", byStrong, byWeak)
	}
	if byStrong.QRID != "strong-1" || !byStrong.Verified ||
		!reflect.DeepEqual(platforms(byStrong), []canonical.Platform{canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}) {
		t.Errorf("merged view = %+v", byStrong)
	}
	// The weak declaration's phone differs: the merged view shows it.
	if !(store.InconsistencyQuery{Field: store.FieldPhone}).Matches(byStrong) {
		t.Errorf("inconsistencies = %+v, want phone", byStrong.Inconsistencies)
	}
	want := []string{"tokhaiyte/t-1/v1", "ncovi/n-1/v1"}
	if got := records(history(t, e.s, "weak-1")); !reflect.DeepEqual(got, want) {
		t.Errorf("history by weak id = %v, want %v", got, want)
	}
	if got := records(history(t, e.s, "strong-1")); !reflect.DeepEqual(got, want) {
		t.Errorf("history by strong id = %v, want %v", got, want)
	}
	// Only the strong identity is listed; the weak one is no identity of its own any more.
	vs, _, err := e.s.Inconsistencies(context.Background(), store.InconsistencyQuery{})
	if err != nil || len(vs) != 1 || vs[0].QRID != "strong-1" {
		t.Errorf("inconsistencies = %+v, %v; want only strong-1", vs, err)
	}
	// Later weak declarations land in the strong identity.
	b := w
	b.Source = canonical.Source{Platform: canonical.PlatformBluezone, RecordID: "b-1", Version: "v1"}
	b.DeclaredAt = day0.Add(2 * time.Hour)
	wantResults(t, write(t, e.s, weak("weak-1", b)), store.Result{Outcome: store.OutcomeAccepted, QRID: "strong-1"})
	if got := platforms(view(t, e.s, "strong-1")); len(got) != 3 {
		t.Errorf("platforms = %v, want 3", got)
	}
	// Re-delivering the weak record reports the identity it now belongs to.
	wantResults(t, write(t, e.s, weak("weak-1", w)), store.Result{Outcome: store.OutcomeDuplicate, QRID: "strong-1"})
	// Merging identities is no new declaration: counters count each declaration once.
	countsAfter := counts(t, e.s, store.CountQuery{Platform: canonical.PlatformTokhaiyte})
	if sum(countsAfter) != sum(countsBefore) {
		t.Errorf("tokhaiyte count %d after merge, want %d", sum(countsAfter), sum(countsBefore))
	}
}

func testAliasBeforeWeak(t *testing.T, e env) {
	// The strong identity names its weak alias before any weak declaration exists; the weak
	// declaration arriving later goes straight to the strong identity.
	write(t, e.s, acc("strong-1", decl(canonical.PlatformNCOVI, "n-1", day0, "v1"), "weak-1"))
	w := decl(canonical.PlatformTokhaiyte, "t-1", day0.Add(time.Hour), "v1")
	wantResults(t, write(t, e.s, weak("weak-1", w)), store.Result{Outcome: store.OutcomeAccepted, QRID: "strong-1"})
	v := view(t, e.s, "weak-1")
	if v.QRID != "strong-1" || len(v.Latest) != 2 || !v.Verified {
		t.Errorf("view by weak id = %+v", v)
	}
	if got := records(history(t, e.s, "strong-1")); len(got) != 2 {
		t.Errorf("history = %v", got)
	}
}

func testUnknown(t *testing.T, e env) {
	_, err := e.s.View(context.Background(), "nobody")
	wantNotFound(t, "View", err)
	_, err = e.s.History(context.Background(), "nobody")
	wantNotFound(t, "History", err)
	c, err := e.s.Cursor(context.Background(), "ncovi")
	if err != nil || c != "" {
		t.Errorf("Cursor of a new partner = %q, %v; want empty", c, err)
	}
}

func testAliasChain(t *testing.T, e env) {
	// A weak identity is absorbed by a CMND identity, which a CCCD identity later absorbs
	// (a chip card carries both numbers): every id resolves to the CCCD identity in one step.
	w := decl(canonical.PlatformTokhaiyte, "t-1", day0, "v1")
	w.Person.Document = canonical.Document{}
	write(t, e.s, weak("weak-1", w))
	cmnd := decl(canonical.PlatformBluezone, "b-1", day0.Add(time.Hour), "v1")
	cmnd.Person.Document = canonical.Document{Type: canonical.DocumentCMND, Number: "025123456"}
	write(t, e.s, acc("cmnd-1", cmnd, "weak-1"))
	cccd := decl(canonical.PlatformNCOVI, "n-1", day0.Add(2*time.Hour), "v1")
	cccd.Person.FormerCMND = "025123456"
	wantResults(t, write(t, e.s, acc("cccd-1", cccd, "cmnd-1", "weak-1")), store.Result{Outcome: store.OutcomeAccepted, QRID: "cccd-1"})
	for _, q := range []string{"weak-1", "cmnd-1", "cccd-1"} {
		v := view(t, e.s, q)
		if v.QRID != "cccd-1" || len(v.Latest) != 3 {
			t.Errorf("View(%s) = %s with %v, want cccd-1 with 3 platforms", q, v.QRID, platforms(v))
		}
		if h := history(t, e.s, q); len(h) != 3 {
			t.Errorf("History(%s) has %d versions, want 3", q, len(h))
		}
	}
	if v := view(t, e.s, "cccd-1"); v.Person.DocumentType != canonical.DocumentCCCD || v.Person.DocumentMasked != "********1234" {
		t.Errorf("person = %+v, want the newest (CCCD) declaration's", v.Person)
	}
	// A weak id that one strong identity absorbed stays with it when another claims it.
	other := decl(canonical.PlatformNCOVI, "n-2", day0, "v1")
	other.Person.Document.Number = "079090009999"
	write(t, e.s, acc("cccd-2", other, "weak-1"))
	if v := view(t, e.s, "weak-1"); v.QRID != "cccd-1" {
		t.Errorf("weak-1 moved to %s; the first strong identity keeps it", v.QRID)
	}
	if h := history(t, e.s, "cccd-2"); len(h) != 1 {
		t.Errorf("cccd-2 history has %d versions, want its own 1", len(h))
	}
}

func testAliasChainInOneBatch(t *testing.T, e env) {
	// testAliasChain's chain in one batch, then a declaration under the weak id and one
	// under a new weak id that the CMND identity claims: each item sees the aliases the
	// items before it made, and every id still resolves to the CCCD identity in one step.
	w := decl(canonical.PlatformTokhaiyte, "t-1", day0, "v1")
	w.Person.Document = canonical.Document{}
	cmnd := decl(canonical.PlatformBluezone, "b-1", day0.Add(time.Hour), "v1")
	cmnd.Person.Document = canonical.Document{Type: canonical.DocumentCMND, Number: "025123456"}
	cccd := decl(canonical.PlatformNCOVI, "n-1", day0.Add(2*time.Hour), "v1")
	cccd.Person.FormerCMND = "025123456"
	late := decl(canonical.PlatformTokhaiyte, "t-2", day0.Add(3*time.Hour), "v1")
	late.Person.Document = canonical.Document{}
	again := decl(canonical.PlatformBluezone, "b-2", day0.Add(4*time.Hour), "v1")
	again.Person.Document = cmnd.Person.Document
	res := write(t, e.s,
		weak("weak-1", w), acc("cmnd-1", cmnd, "weak-1"), acc("cccd-1", cccd, "cmnd-1", "weak-1"),
		weak("weak-1", late), acc("cmnd-1", again, "weak-2"))
	for i, r := range res {
		// A store may answer the id an item was filed under then, since absorbed: the QR
		// issued for it must lead to the merged identity.
		if r.Outcome != store.OutcomeAccepted || view(t, e.s, r.QRID).QRID != "cccd-1" {
			t.Errorf("item %d: %v, want accepted under an id of cccd-1", i, r)
		}
	}
	for _, q := range []string{"weak-1", "weak-2", "cmnd-1", "cccd-1"} {
		v := view(t, e.s, q)
		if v.QRID != "cccd-1" {
			t.Errorf("View(%s) = %s, want cccd-1", q, v.QRID)
		}
		if h := history(t, e.s, q); len(h) != 5 {
			t.Errorf("History(%s) has %d versions, want 5", q, len(h))
		}
	}
	// The aliases are stored: a later batch under the weak ids lands on the CCCD identity.
	later := decl(canonical.PlatformTokhaiyte, "t-3", day0.Add(5*time.Hour), "v1")
	later.Person.Document = canonical.Document{}
	wantResults(t, write(t, e.s, weak("weak-2", later)), store.Result{Outcome: store.OutcomeAccepted, QRID: "cccd-1"})
}

func testMalformedItems(t *testing.T, e env) {
	good := acc("qA", decl(canonical.PlatformNCOVI, "n-1", day0, "v1"))
	noQRID := acc("", decl(canonical.PlatformNCOVI, "n-2", day0, "v1"))
	both := store.Item{Accepted: good.Accepted, Rejected: &store.Rejected{Declaration: good.Accepted.Declaration}}
	tests := []struct {
		name  string
		items []store.Item
		field string // what the error must name (the item's index too, in the store's words)
	}{
		{"neither accepted nor rejected", []store.Item{good, {}}, "accepted"},
		{"both", []store.Item{both}, "accepted"},
		{"accepted without a QR id", []store.Item{good, noQRID}, "qrid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A malformed item is the gateway's bug: the whole batch is refused, nothing stored.
			_, err := e.s.WriteBatch(context.Background(), tt.items)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("err = %v, want errs.Invalid naming %s", err, tt.field)
			}
			_, err = e.s.View(context.Background(), "qA")
			wantNotFound(t, "View after a refused batch", err)
		})
	}
}

func testHistoryOrder(t *testing.T, e env) {
	// Same declared time and version on two platforms and two records: platform, then record
	// id, decide; the arrival order does not.
	write(t, e.s,
		acc("qA", decl(canonical.PlatformNCOVI, "n-2", day0, "v1")),
		acc("qA", decl(canonical.PlatformNCOVI, "n-10", day0, "v1")),
		acc("qA", decl(canonical.PlatformBluezone, "b-1", day0, "v1")),
		acc("qA", decl(canonical.PlatformTokhaiyte, "t-1", day0.Add(-time.Second), "v9")),
		acc("qA", decl(canonical.PlatformBluezone, "b-0", day0, "v2")),
	)
	want := []string{"tokhaiyte/t-1/v9", "bluezone/b-1/v1", "ncovi/n-10/v1", "ncovi/n-2/v1", "bluezone/b-0/v2"}
	if got := records(history(t, e.s, "qA")); !reflect.DeepEqual(got, want) {
		t.Errorf("history = %v, want %v", got, want)
	}
}
