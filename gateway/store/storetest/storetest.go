// Package storetest is the conformance suite every store implementation passes.
//
// A store's test calls Run with a function that opens a fresh, empty store whose lease clock
// is the given now; the suite closes each store it opens (Close must be safe twice). Every
// behaviour is a subtest, so `go test -run 'TestConformance/aliases'` runs one.
//
// What the suite pins down where the interface comments are brief:
//   - History is oldest first by declared time, then source version, then platform and record
//     id; History and View of an unknown QR id are errs.NotFound.
//   - A re-delivered rejected record is a duplicate with an empty QRID. A record key that is
//     stored as accepted is a duplicate when it arrives again, accepted or rejected.
//   - Rejections are listed newest first by declared time (received time when the declared
//     time is zero); AccessLog newest first by At; both keep entries with equal times.
//   - Counts returns each cell once (cells are keyed by every field but N, see
//     store.CellKey); rejected declarations add one cell per distinct reason.
//   - A weak QR id in Accepted.Aliases that is already an alias of another identity stays
//     with that identity (first strong identity wins).
//   - SaveCursor compares the fence with the lease's current token only (not its expiry).
//   - Purge counts the declaration versions and rejections it deleted; "before cutoff" is
//     strict; a purged record delivered again is accepted again.
//   - A batch with an item that fails store.Item.Check is refused whole with errs.Invalid
//     (a gateway bug, not a partner's bad record); nothing of it is stored.
//   - A weak identity absorbed by a strong one brings its stored versions into the strong
//     view and history (in the same atomic write); aliases of an absorbed identity follow it.
//   - IdentityOf answers accepted declarations only, by the platform's own ids; a record its
//     newest version's identity (versions delivered in order), a subject the identity of its
//     newest declaration by declared time (not arrival); both follow aliases; purged
//     declarations answer errs.NotFound.
//   - Writes racing from many goroutines, weak and strong identities included, end in the
//     state of a sequential run (views but for Revision, histories, counts).
package storetest

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// Open opens a fresh, empty store for one test, using now as its clock (for leases); the
// suite closes it. It may be called more than once in one test (the concurrency behaviour
// compares two stores).
type Open func(t *testing.T, now func() time.Time) store.Store

// env is what each behaviour gets: a fresh store, its clock, and a way to open another.
type env struct {
	s     store.Store
	clock *Clock
	open  func() store.Store
}

// Run runs the whole conformance suite against the stores open returns.
func Run(t *testing.T, open Open) {
	t.Helper()
	behaviours := []struct {
		name string
		run  func(t *testing.T, e env)
	}{
		{"accepted_then_duplicate", testAcceptedThenDuplicate},
		{"rejected_stored_counted_once", testRejected},
		{"mixed_batch", testMixedBatch},
		{"empty_batch", testEmptyBatch},
		{"malformed_items_refuse_the_batch", testMalformedItems},
		{"latest_by_declared_time", testLatestByDeclaredTime},
		{"history_order", testHistoryOrder},
		{"aliases", testAliases},
		{"alias_before_weak_declaration", testAliasBeforeWeak},
		{"alias_chain_and_first_claim", testAliasChain},
		{"alias_chain_in_one_batch", testAliasChainInOneBatch},
		{"unknown_qrid", testUnknown},
		{"inconsistencies_filtered_paged", testInconsistencies},
		{"rejections_filtered_paged", testRejections},
		{"access_log", testAccessLog},
		{"counts", testCounts},
		{"passages", testPassages},
		{"cursors_and_leases", testCursorsAndLeases},
		{"purge", testPurge},
		{"concurrent_writes_equal_sequential", testConcurrentWrites},
		{"concurrent_duplicates_count_once", testConcurrentDuplicates},
		{"ping_and_close_twice", testPingClose},
		{"identity_of_record", testIdentityOfRecord},
		{"identity_of_subject_is_its_newest", testIdentityOfSubject},
		{"identity_of_follows_aliases", testIdentityOfAlias},
		{"identity_of_redelivered", testIdentityOfRedelivery},
		{"identity_of_purged", testIdentityOfPurge},
	}
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) {
			clock := NewClock(day0.Add(48 * time.Hour))
			openOne := func() store.Store {
				s := open(t, clock.Now)
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
			b.run(t, env{s: openOne(), clock: clock, open: openOne})
		})
	}
}

// Clock is a settable clock for leases.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock showing now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// day0 is 08:00 on 20 November 2026 in Vietnam.
var day0 = time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)

// decl returns a normalized declaration of one person by platform p, declared at at.
func decl(p canonical.Platform, recordID string, at time.Time, version string) canonical.Declaration {
	return canonical.Declaration{
		Source: canonical.Source{Platform: p, RecordID: recordID, Version: version},
		Person: canonical.Person{
			FullName:    "Nguyễn Văn An",
			NameKey:     "nguyen van an",
			BirthDate:   canonical.BirthDate{Year: 1990, Month: 5, Day: 17, Precision: canonical.PrecisionDay},
			Gender:      canonical.GenderMale,
			Nationality: "VN",
			Document:    canonical.Document{Type: canonical.DocumentCCCD, Number: "079090001234"},
			Phone:       "+84912345678",
		},
		Address:    canonical.Address{Province: "79", ProvinceCode: "79", CodeSet: canonical.CodeSet2021, Province2025: "79"},
		DeclaredAt: at.UTC(),
		ReceivedAt: at.UTC().Add(time.Minute),
	}
}

func acc(qrid string, d canonical.Declaration, aliases ...string) store.Item {
	return store.Item{Accepted: &store.Accepted{Declaration: d, QRID: qrid, Verified: true, Aliases: aliases}}
}

func weak(qrid string, d canonical.Declaration) store.Item {
	return store.Item{Accepted: &store.Accepted{Declaration: d, QRID: qrid}}
}

func rej(d canonical.Declaration, reasons ...canonical.Reason) store.Item {
	r := &store.Rejected{Declaration: d}
	for _, reason := range reasons {
		r.Violations = append(r.Violations, canonical.Violation{Field: "person.phone", Reason: reason, Message: "test"})
	}
	return store.Item{Rejected: r}
}

func write(t *testing.T, s store.Store, items ...store.Item) []store.Result {
	t.Helper()
	res, err := s.WriteBatch(context.Background(), items)
	if err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	if len(res) != len(items) {
		t.Fatalf("WriteBatch returned %d results for %d items", len(res), len(items))
	}
	return res
}

func wantResults(t *testing.T, got []store.Result, want ...store.Result) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results = %v, want %v", got, want)
	}
}

func view(t *testing.T, s store.Store, qrid string) store.View {
	t.Helper()
	v, err := s.View(context.Background(), qrid)
	if err != nil {
		t.Fatalf("View(%s): %v", qrid, err)
	}
	return v
}

func history(t *testing.T, s store.Store, qrid string) []canonical.Declaration {
	t.Helper()
	h, err := s.History(context.Background(), qrid)
	if err != nil {
		t.Fatalf("History(%s): %v", qrid, err)
	}
	return h
}

func counts(t *testing.T, s store.Store, q store.CountQuery) []store.Count {
	t.Helper()
	cs, err := s.Counts(context.Background(), q)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	store.SortCounts(cs)
	return cs
}

func sum(cs []store.Count) int64 {
	var n int64
	for _, c := range cs {
		n += c.N
	}
	return n
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("%s: err = %v, want errs.NotFound", what, err)
	}
}

// records returns record "platform/id/version" names, to compare histories readably.
func records(ds []canonical.Declaration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strings.Join([]string{string(d.Source.Platform), d.Source.RecordID, d.Source.Version}, "/")
	}
	return out
}

func platforms(v store.View) []canonical.Platform { return v.Platforms() }

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
