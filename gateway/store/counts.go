package store

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// DayOf returns the calendar day of t in Asia/Ho_Chi_Minh, "2006-01-02", the day counters use.
func DayOf(t time.Time) string {
	return t.In(canonical.VietnamZone).Format("2006-01-02")
}

// CountsOf returns the counter cells (each with N=1) that storing it for the first time adds:
// one cell for an accepted declaration, one per distinct reason for a rejected one (so summing
// rejected cells counts reasons, not declarations). Duplicates add nothing and are not passed.
func CountsOf(it Item) []Count {
	d := it.declaration()
	province2025 := d.Address.Province2025
	if province2025 == "" && d.Address.CodeSet == canonical.CodeSet2025 {
		province2025 = d.Address.ProvinceCode
	}
	c := Count{
		Counter:      CounterDeclarations,
		Day:          DayOf(RejectedAt(*d)), // a declaration without a time counts on the day it arrived
		Platform:     d.Source.Platform,
		Province:     d.Address.ProvinceCode,
		Province2025: province2025,
		N:            1,
	}
	if it.Accepted != nil {
		c.Outcome = OutcomeAccepted
		return []Count{c}
	}
	c.Outcome = OutcomeRejected
	var reasons []canonical.Reason
	for _, v := range it.Rejected.Violations {
		reasons = append(reasons, v.Reason)
	}
	slices.Sort(reasons)
	reasons = slices.Compact(reasons)
	if len(reasons) == 0 {
		return []Count{c}
	}
	out := make([]Count, len(reasons))
	for i, r := range reasons {
		out[i] = c
		out[i].Reason = r
	}
	return out
}

// PassageCount returns the counter cell (N=1) a passage adds.
func PassageCount(p Passage) Count {
	return Count{Counter: CounterPassages, Day: DayOf(p.At), Station: p.StationID, Decision: p.Decision, N: 1}
}

// CellKey returns the identity of a counter cell: every field but N, as one string, so stores
// can keep a cell under one key. ParseCellKey reverses it.
func CellKey(c Count) string {
	return strings.Join([]string{
		string(c.Counter), c.Day, string(c.Platform), itoa(int(c.Outcome)), string(c.Reason),
		c.Province, c.Province2025, c.Station, itoa(int(c.Decision)),
	}, "\x1f")
}

// ParseCellKey returns the cell (N=0) CellKey made key from, false if key is not one.
func ParseCellKey(key string) (Count, bool) {
	f := strings.Split(key, "\x1f")
	if len(f) != 9 {
		return Count{}, false
	}
	o, ok1 := atoi(f[3])
	d, ok2 := atoi(f[8])
	if !ok1 || !ok2 {
		return Count{}, false
	}
	return Count{
		Counter: Counter(f[0]), Day: f[1], Platform: canonical.Platform(f[2]), Outcome: Outcome(o),
		Reason: canonical.Reason(f[4]), Province: f[5], Province2025: f[6], Station: f[7], Decision: Decision(d),
	}, true
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Matches reports whether cell c is selected by q.
func (q CountQuery) Matches(c Count) bool {
	switch {
	case q.Counter != "" && c.Counter != q.Counter,
		q.From != "" && c.Day < q.From,
		q.To != "" && c.Day > q.To,
		q.Platform != "" && c.Platform != q.Platform,
		q.Reason != "" && c.Reason != q.Reason,
		q.Station != "" && c.Station != q.Station,
		q.Stations != nil && !slices.Contains(q.Stations, c.Station):
		return false
	}
	if q.Province != "" {
		p := c.Province
		if q.Province2025 {
			p = c.Province2025
		}
		return p == q.Province
	}
	return true
}

// SortCounts orders cells deterministically (by their keys).
func SortCounts(cs []Count) {
	slices.SortFunc(cs, func(a, b Count) int { return strings.Compare(CellKey(a), CellKey(b)) })
}

// Matches reports whether view v is selected by q (ignoring paging): it has an inconsistency
// on q.Field (any field when empty) between q's platforms (any pair when empty).
func (q InconsistencyQuery) Matches(v View) bool {
	a, b := q.PlatformA, q.PlatformB
	if a > b {
		a, b = b, a
	}
	for _, in := range v.Inconsistencies {
		if (q.Field == "" || in.Field == q.Field) &&
			(a == "" || in.PlatformA == a) && (b == "" || in.PlatformB == b) {
			return true
		}
	}
	return false
}

// Matches reports whether r is selected by q (ignoring paging).
func (q RejectionQuery) Matches(r Rejected) bool {
	if q.Platform != "" && r.Declaration.Source.Platform != q.Platform {
		return false
	}
	if q.Reason == "" {
		return true
	}
	return slices.ContainsFunc(r.Violations, func(v canonical.Violation) bool { return v.Reason == q.Reason })
}

// Matches reports whether a is selected by q (ignoring paging).
func (q AccessQuery) Matches(a Access) bool {
	return (q.QRID == "" || a.QRID == q.QRID) && (q.Principal == "" || a.Principal == q.Principal)
}

// PageSizeOf returns the page size to use for a requested size: 100 when unset, at most 1000.
func PageSizeOf(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// RejectedAt is the time a rejection is filed under (listing, purge): its declared time, or
// its received time when the declared time could not be read.
func RejectedAt(d canonical.Declaration) time.Time {
	if d.DeclaredAt.IsZero() {
		return d.ReceivedAt
	}
	return d.DeclaredAt
}
