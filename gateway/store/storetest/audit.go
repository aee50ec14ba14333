package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

func testInconsistencies(t *testing.T, e env) {
	// Seven identities known to two platforms each: 0-4 disagree on the phone between
	// bluezone and ncovi, 1 and 3 on the name too, 5 agree, 6 disagree on the gender between
	// ncovi and tokhaiyte.
	var items []store.Item
	for i := range 7 {
		q := fmt.Sprintf("q%d", i)
		pa, pb := canonical.PlatformBluezone, canonical.PlatformNCOVI
		if i == 6 {
			pa, pb = canonical.PlatformNCOVI, canonical.PlatformTokhaiyte
		}
		a := decl(pa, "a"+q, day0, "v1")
		b := decl(pb, "b"+q, day0.Add(time.Minute), "v1")
		if i < 5 {
			b.Person.Phone = "+84987654321"
		}
		if i == 1 || i == 3 {
			b.Person.NameKey = "nguyen van anh"
		}
		if i == 6 {
			b.Person.Gender = canonical.GenderFemale
		}
		items = append(items, acc(q, a), acc(q, b))
	}
	write(t, e.s, items...)

	tests := []struct {
		name string
		q    store.InconsistencyQuery
		want []string
	}{
		{"any", store.InconsistencyQuery{}, []string{"q0", "q1", "q2", "q3", "q4", "q6"}},
		{"phone", store.InconsistencyQuery{Field: store.FieldPhone}, []string{"q0", "q1", "q2", "q3", "q4"}},
		// q1 and q3 disagree on two fields: listed once each.
		{"name", store.InconsistencyQuery{Field: store.FieldName}, []string{"q1", "q3"}},
		{"pair", store.InconsistencyQuery{PlatformA: canonical.PlatformBluezone, PlatformB: canonical.PlatformNCOVI},
			[]string{"q0", "q1", "q2", "q3", "q4"}},
		{"field and pair", store.InconsistencyQuery{Field: store.FieldGender, PlatformA: canonical.PlatformNCOVI, PlatformB: canonical.PlatformTokhaiyte},
			[]string{"q6"}},
		{"field no one disagrees on", store.InconsistencyQuery{Field: store.FieldProvince}, nil},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 2, 4, 0} {
			t.Run(fmt.Sprintf("%s/page_%d", tt.name, size), func(t *testing.T) {
				q := tt.q
				q.PageSize = size
				var got []string
				for page := 0; ; page++ {
					if page > 20 {
						t.Fatal("paging does not end")
					}
					vs, next, err := e.s.Inconsistencies(context.Background(), q)
					if err != nil {
						t.Fatalf("Inconsistencies: %v", err)
					}
					if size > 0 && len(vs) > size {
						t.Fatalf("page of %d views, size %d", len(vs), size)
					}
					for _, v := range vs {
						if !tt.q.Matches(v) {
							t.Errorf("%s does not match the query: %+v", v.QRID, v.Inconsistencies)
						}
						got = append(got, v.QRID)
					}
					if next == "" {
						break
					}
					q.PageToken = next
				}
				// No identity twice, none missed (order is the store's own).
				if got := sortedStrings(got); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
					t.Errorf("identities = %v, want %v", got, tt.want)
				}
			})
		}
	}
}

func testRejections(t *testing.T, e env) {
	var items []store.Item
	for i, p := range []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte, canonical.PlatformNCOVI, canonical.PlatformBluezone} {
		reason := canonical.ReasonInvalidPhone
		if i%2 == 1 {
			reason = canonical.ReasonRequired
		}
		items = append(items, rej(decl(p, fmt.Sprintf("r%d", i), day0.Add(time.Duration(i)*time.Hour), "v1"), reason))
	}
	// A record whose declared time could not be read is filed under its received time.
	undated := decl(canonical.PlatformTokhaiyte, "r5", day0, "v1")
	undated.DeclaredAt = time.Time{}
	undated.ReceivedAt = day0.Add(90 * time.Minute)
	items = append(items, rej(undated, canonical.ReasonMalformed))
	write(t, e.s, items...)

	tests := []struct {
		name string
		q    store.RejectionQuery
		want []string
	}{
		{"all newest first", store.RejectionQuery{}, []string{"r4", "r3", "r2", "r5", "r1", "r0"}},
		{"platform", store.RejectionQuery{Platform: canonical.PlatformNCOVI}, []string{"r3", "r1"}},
		{"reason", store.RejectionQuery{Reason: canonical.ReasonInvalidPhone}, []string{"r4", "r2", "r0"}},
		{"platform and reason", store.RejectionQuery{Platform: canonical.PlatformBluezone, Reason: canonical.ReasonRequired}, nil},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 2, 0} {
			t.Run(fmt.Sprintf("%s/page_%d", tt.name, size), func(t *testing.T) {
				q := tt.q
				q.PageSize = size
				var got []string
				for page := 0; ; page++ {
					if page > 20 {
						t.Fatal("paging does not end")
					}
					rs, next, err := e.s.Rejections(context.Background(), q)
					if err != nil {
						t.Fatalf("Rejections: %v", err)
					}
					if size > 0 && len(rs) > size {
						t.Fatalf("page of %d, size %d", len(rs), size)
					}
					for _, r := range rs {
						got = append(got, r.Declaration.Source.RecordID)
					}
					if next == "" {
						break
					}
					q.PageToken = next
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("rejections = %v, want %v", got, tt.want)
				}
			})
		}
	}
}

func testAccessLog(t *testing.T, e env) {
	var all []store.Access
	for i := range 6 {
		a := store.Access{
			At:        day0.Add(time.Duration(i) * time.Minute),
			Principal: fmt.Sprintf("p%d", i%2+1),
			Role:      "ministry",
			Action:    "history",
			QRID:      []string{"qA", "qB", "qA"}[i%3],
			Reason:    fmt.Sprintf("case %d", i),
		}
		if i == 5 {
			// Two accesses at the same instant are both kept.
			a.At = all[4].At
		}
		all = append(all, a)
	}
	// Some one by one, the rest in one call (a busy gateway's access log writes batches).
	for _, a := range all[:2] {
		if err := e.s.AppendAccess(context.Background(), a); err != nil {
			t.Fatalf("AppendAccess: %v", err)
		}
	}
	if err := e.s.AppendAccess(context.Background(), all[2:]...); err != nil {
		t.Fatalf("AppendAccess of %d: %v", len(all[2:]), err)
	}
	reasons := func(as []store.Access) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Reason)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.AccessQuery
		want []string // by reason; entries at the same instant in either order
	}{
		{"all", store.AccessQuery{}, []string{"case 4|case 5", "case 3", "case 2", "case 1", "case 0"}},
		{"qrid", store.AccessQuery{QRID: "qA"}, []string{"case 5", "case 3", "case 2", "case 0"}},
		{"principal", store.AccessQuery{Principal: "p2"}, []string{"case 5", "case 3", "case 1"}},
		{"both", store.AccessQuery{QRID: "qB", Principal: "p2"}, []string{"case 1"}},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 2, 0} {
			t.Run(fmt.Sprintf("%s/page_%d", tt.name, size), func(t *testing.T) {
				q := tt.q
				q.PageSize = size
				var got []store.Access
				for page := 0; ; page++ {
					if page > 20 {
						t.Fatal("paging does not end")
					}
					as, next, err := e.s.AccessLog(context.Background(), q)
					if err != nil {
						t.Fatalf("AccessLog: %v", err)
					}
					if size > 0 && len(as) > size {
						t.Fatalf("page of %d, size %d", len(as), size)
					}
					got = append(got, as...)
					if next == "" {
						break
					}
					q.PageToken = next
				}
				for _, a := range got {
					if !tt.q.Matches(a) {
						t.Errorf("%+v does not match", a)
					}
					if i := slices.IndexFunc(all, func(x store.Access) bool { return x.Reason == a.Reason }); i < 0 || !reflect.DeepEqual(all[i], a) {
						t.Errorf("access %+v was not stored as given", a)
					}
				}
				if !sameOrderUpToTies(reasons(got), tt.want) {
					t.Errorf("accesses = %v, want %v", reasons(got), tt.want)
				}
			})
		}
	}
}

// sameOrderUpToTies compares got with want, where a want entry "a|b" is a group of entries
// that may come in either order.
func sameOrderUpToTies(got, want []string) bool {
	var flat [][]string
	n := 0
	for _, w := range want {
		g := splitBar(w)
		flat = append(flat, g)
		n += len(g)
	}
	if len(got) != n {
		return false
	}
	i := 0
	for _, g := range flat {
		part := sortedStrings(got[i : i+len(g)])
		if !slices.Equal(part, sortedStrings(g)) {
			return false
		}
		i += len(g)
	}
	return true
}

func splitBar(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '|' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func testCounts(t *testing.T, e env) {
	// 16:59:59 UTC is 23:59:59 on the 20th in Vietnam; 17:00 UTC is already the 21st.
	lastSecond := decl(canonical.PlatformNCOVI, "n-1", time.Date(2026, 11, 20, 16, 59, 59, 0, time.UTC), "v1")
	lastSecond.Address = canonical.Address{ProvinceCode: "74", CodeSet: canonical.CodeSet2021, Province2025: "79"} // Bình Dương, now in HCMC
	midnight := decl(canonical.PlatformNCOVI, "n-2", time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC), "v1")
	hanoi := decl(canonical.PlatformBluezone, "b-1", time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC), "v1")
	hanoi.Address = canonical.Address{ProvinceCode: "01", CodeSet: canonical.CodeSet2021, Province2025: "01"}
	bad := decl(canonical.PlatformTokhaiyte, "t-1", time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC), "v1")
	write(t, e.s, acc("qA", lastSecond), acc("qB", midnight), acc("qC", hanoi),
		rej(bad, canonical.ReasonInvalidPhone, canonical.ReasonRequired))
	// Duplicates are not counted.
	write(t, e.s, acc("qA", lastSecond), rej(bad, canonical.ReasonInvalidPhone, canonical.ReasonRequired))

	tests := []struct {
		name string
		q    store.CountQuery
		want int64
	}{
		{"all declarations", store.CountQuery{Counter: store.CounterDeclarations}, 5},
		{"day of the 21st in Vietnam", store.CountQuery{From: "2026-11-21", To: "2026-11-21"}, 4},
		{"up to the 20th", store.CountQuery{To: "2026-11-20"}, 1},
		{"from the 22nd", store.CountQuery{From: "2026-11-22"}, 0},
		{"platform", store.CountQuery{Platform: canonical.PlatformNCOVI}, 2},
		{"reason", store.CountQuery{Reason: canonical.ReasonInvalidPhone}, 1},
		{"2021 province", store.CountQuery{Province: "74"}, 1},
		{"2021 code of HCMC", store.CountQuery{Province: "79"}, 3}, // midnight and the rejection declared 79
		// The 2025 HCMC includes the former Bình Dương.
		{"2025 province", store.CountQuery{Province: "79", Province2025: true}, 4},
		{"2025 Hà Nội", store.CountQuery{Province: "01", Province2025: true}, 1},
		{"no passages yet", store.CountQuery{Counter: store.CounterPassages}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sum(counts(t, e.s, tt.q)); got != tt.want {
				t.Errorf("count = %d, want %d", got, tt.want)
			}
		})
	}
	cs := counts(t, e.s, store.CountQuery{From: "2026-11-20", To: "2026-11-20"})
	want := []store.Count{{Counter: store.CounterDeclarations, Day: "2026-11-20", Platform: canonical.PlatformNCOVI,
		Outcome: store.OutcomeAccepted, Province: "74", Province2025: "79", N: 1}}
	if !reflect.DeepEqual(cs, want) {
		t.Errorf("cells of the 20th = %+v, want %+v", cs, want)
	}
}

func testPassages(t *testing.T, e env) {
	ps := []store.Passage{
		{ID: "p1", StationID: "S1", QRID: "qA", Decision: store.DecisionAllowed, At: day0},
		{ID: "p2", StationID: "S1", QRID: "qB", Decision: store.DecisionScreened, At: day0.Add(time.Minute)},
		{ID: "p3", StationID: "S2", QRID: "qA", Decision: store.DecisionAllowed, At: day0.Add(24 * time.Hour)},
	}
	for _, p := range ps {
		if dup, err := e.s.RecordPassage(context.Background(), p); err != nil || dup {
			t.Fatalf("RecordPassage(%s) = %v, %v", p.ID, dup, err)
		}
	}
	// The checkpoint retries p1: recorded once.
	if dup, err := e.s.RecordPassage(context.Background(), ps[0]); err != nil || !dup {
		t.Errorf("RecordPassage again = %v, %v; want duplicate", dup, err)
	}
	tests := []struct {
		name string
		q    store.CountQuery
		want int64
	}{
		{"all passages", store.CountQuery{Counter: store.CounterPassages}, 3},
		{"station", store.CountQuery{Station: "S1"}, 2},
		{"stations of an area", store.CountQuery{Stations: []string{"S2", "S9"}}, 1},
		{"day", store.CountQuery{Counter: store.CounterPassages, From: "2026-11-21"}, 1},
		// Passages are no declarations.
		{"declarations", store.CountQuery{Counter: store.CounterDeclarations}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sum(counts(t, e.s, tt.q)); got != tt.want {
				t.Errorf("count = %d, want %d", got, tt.want)
			}
		})
	}
	cs := counts(t, e.s, store.CountQuery{Station: "S1"})
	want := []store.Count{
		{Counter: store.CounterPassages, Day: "2026-11-20", Station: "S1", Decision: store.DecisionAllowed, N: 1},
		{Counter: store.CounterPassages, Day: "2026-11-20", Station: "S1", Decision: store.DecisionScreened, N: 1},
	}
	store.SortCounts(want)
	if !reflect.DeepEqual(cs, want) {
		t.Errorf("cells of S1 = %+v, want %+v", cs, want)
	}
}
