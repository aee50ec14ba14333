package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/test/procs"
)

// platformCounts is what GetStatistics says of one platform.
type platformCounts struct {
	Accepted int
	ByReason map[canonical.Reason]int
}

// cells is the number of counter increments the counts stand for: one per accepted
// declaration, one per distinct reason of a rejected one.
func cells(m map[canonical.Platform]platformCounts) int {
	n := 0
	for _, c := range m {
		n += c.Accepted
		for _, k := range c.ByReason {
			n += k
		}
	}
	return n
}

// readStats reads the declaration counters as the ministry, summed over days and provinces.
func readStats(c procs.Clients) (map[canonical.Platform]platformCounts, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := c.Audit.GetStatistics(ctx, &lienthongv1.GetStatisticsRequest{})
	if err != nil {
		return nil, err
	}
	out := map[canonical.Platform]platformCounts{}
	for _, dc := range resp.GetDeclarationCounts() {
		p := canonical.Platform(dc.GetPlatform())
		pc := out[p]
		if pc.ByReason == nil {
			pc.ByReason = map[canonical.Reason]int{}
		}
		switch dc.GetOutcome() {
		case lienthongv1.Outcome_OUTCOME_ACCEPTED:
			pc.Accepted += int(dc.GetCount())
		case lienthongv1.Outcome_OUTCOME_REJECTED:
			pc.ByReason[canonical.Reason(dc.GetReason())] += int(dc.GetCount())
		default:
			return nil, fmt.Errorf("statistics cell with outcome %v: %v", dc.GetOutcome(), dc)
		}
		out[p] = pc
	}
	return out, nil
}

// expectedStats is the truth's counters in the shape readStats returns.
func (tr *truth) expectedStats() map[canonical.Platform]platformCounts {
	out := map[canonical.Platform]platformCounts{}
	for p, c := range tr.summary.Platforms {
		pc := platformCounts{Accepted: c.Accepted, ByReason: map[canonical.Reason]int{}}
		for r, n := range c.ByReason {
			pc.ByReason[r] = n
		}
		out[p] = pc
	}
	return out
}

// waitIngested polls the statistics until the gateway has counted as many declarations as
// the truth holds (or more: then the exact comparison that follows says what is wrong).
func waitIngested(t *testing.T, g *gatewayProc, tr *truth, deadline time.Duration) {
	t.Helper()
	want := cells(tr.expectedStats())
	c := g.conns.Client(t, tokMinistry)
	procs.Eventually(t, deadline, "gateway counting every record version of the ground truth", func() (bool, string) {
		if g.Exited() {
			t.Fatalf("%s exited during ingest: %v", g.Name, g.WaitErr())
		}
		got, err := readStats(c)
		if err != nil {
			return false, err.Error()
		}
		return cells(got) >= want, fmt.Sprintf("counted %d of %d: %v", cells(got), want, got)
	})
}

// calls counts the reads of personal data a check made, each of which the access log must hold.
type calls struct {
	lookups, histories int
}

// checkAgainstTruth compares everything the gateway answers with the ground truth, exactly.
// It returns the number of accepted declarations compared one by one and the reads it made.
func checkAgainstTruth(t *testing.T, g *gatewayProc, tr *truth) (int, calls) {
	t.Helper()
	ministry, checkpoint := g.conns.Client(t, tokMinistry), g.conns.Client(t, tokCheckpoint)
	checkStatistics(t, ministry, tr)
	checkRejections(t, ministry, tr)
	d := deriverOf(t, g.dataDir)
	qrids := map[string]string{} // identity key → QR id
	owner := map[string]string{} // QR id → identity key
	for _, id := range tr.identities {
		q := d.QRID(parseKey(t, id.Key))
		if other, dup := owner[q]; dup {
			t.Fatalf("identities %s and %s derive the same QR id %s", other, id.Key, q)
		}
		qrids[id.Key], owner[q] = q, id.Key
	}
	compared, made := checkIdentities(t, ministry, checkpoint, tr, d, qrids)
	checkInconsistencies(t, ministry, tr, qrids)
	return compared, made
}

func checkStatistics(t *testing.T, c procs.Clients, tr *truth) {
	t.Helper()
	got, err := readStats(c)
	if err != nil {
		t.Fatalf("GetStatistics: %v", err)
	}
	want := tr.expectedStats()
	for _, p := range procs.PartnerPlatforms() {
		g, w := got[p], want[p]
		if g.Accepted != w.Accepted {
			t.Errorf("statistics %s accepted = %d, truth %d", p, g.Accepted, w.Accepted)
		}
		reasons := map[canonical.Reason]bool{}
		for r := range g.ByReason {
			reasons[r] = true
		}
		for r := range w.ByReason {
			reasons[r] = true
		}
		for r := range reasons {
			if g.ByReason[r] != w.ByReason[r] {
				t.Errorf("statistics %s rejected for %q = %d, truth %d", p, r, g.ByReason[r], w.ByReason[r])
			}
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("statistics count platform %q the truth does not have: %+v", p, got[p])
		}
	}
}

func recordKey(platform, recordID, version string) string {
	return platform + "/" + recordID + "@" + version
}

func reasonSet[R ~string](rs []R) string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r))
	}
	sort.Strings(out)
	return strings.Join(slices.Compact(out), ",")
}

// checkRejections lists every rejection (all pages) and compares them with the truth's
// rejected records and their reasons.
func checkRejections(t *testing.T, c procs.Clients, tr *truth) {
	t.Helper()
	got := map[string]string{}
	for token, pages := "", 0; ; pages++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		resp, err := c.Audit.ListRejections(ctx, &lienthongv1.ListRejectionsRequest{PageSize: 1000, PageToken: token})
		cancel()
		if err != nil {
			// Not fatal: the identity and inconsistency checks still say what they find.
			t.Errorf("ListRejections page %d: %v", pages, err)
			return
		}
		for _, r := range resp.GetRejections() {
			s := r.GetDeclaration().GetSource()
			k := recordKey(s.GetPlatform(), s.GetRecordId(), s.GetVersion())
			var reasons []string
			for _, v := range r.GetViolations() {
				reasons = append(reasons, v.GetReason())
			}
			if _, dup := got[k]; dup {
				t.Errorf("ListRejections lists %s twice", k)
			}
			got[k] = reasonSet(reasons)
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		if pages > 10000 {
			t.Fatal("ListRejections pages never end")
		}
	}
	want := map[string]string{}
	for _, r := range tr.records {
		if r.Outcome == sim.OutcomeRejected {
			want[recordKey(string(r.Platform), r.RecordID, r.Version)] = reasonSet(r.Reasons)
		}
	}
	diffMaps(t, "ListRejections (record → reasons)", got, want)
}

// diffMaps reports the keys missing, extra or different in got, at most 10 of each.
func diffMaps(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var missing, extra, differ []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k+" ("+w+")")
		case g != w:
			differ = append(differ, fmt.Sprintf("%s: got %q, truth %q", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k+" ("+g+")")
		}
	}
	for _, l := range []struct {
		name  string
		items []string
	}{{"missing", missing}, {"not in the truth", extra}, {"different", differ}} {
		if len(l.items) == 0 {
			continue
		}
		sort.Strings(l.items)
		t.Errorf("%s: %d %s (of %d expected), e.g. %s", what, len(l.items), l.name, len(want), strings.Join(l.items[:min(10, len(l.items))], "; "))
	}
}

// checkIdentities reads every truth identity's history (as the ministry) and looks it up by
// QR id and by every alias QR id (as a checkpoint), comparing records, status and flags. It
// returns the number of accepted declarations found where the truth files them, and the
// successful reads it made.
func checkIdentities(t *testing.T, ministry, checkpoint procs.Clients, tr *truth, d *identity.Deriver, qrids map[string]string) (int, calls) {
	t.Helper()
	want := map[string]map[string]bool{} // identity key → record versions filed under it
	accepted := 0
	for _, r := range tr.records {
		if r.Outcome != sim.OutcomeAccepted {
			continue
		}
		accepted++
		if want[r.IdentityKey] == nil {
			want[r.IdentityKey] = map[string]bool{}
		}
		want[r.IdentityKey][recordKey(string(r.Platform), r.RecordID, r.Version)] = true
	}
	if len(want) != len(tr.identities) {
		t.Fatalf("truth: %d identities, but accepted records name %d", len(tr.identities), len(want))
	}
	var (
		mu       sync.Mutex
		problems []string
		compared int
		made     calls
	)
	report := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	work := make(chan sim.TruthIdentity)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				n, c := checkIdentity(ministry, checkpoint, id, qrids[id.Key], d, want[id.Key], report)
				mu.Lock()
				compared += n
				made.lookups += c.lookups
				made.histories += c.histories
				mu.Unlock()
			}
		}()
	}
	for _, id := range tr.identities {
		work <- id
	}
	close(work)
	wg.Wait()
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d identity problems (of %d identities), e.g.:\n  %s", len(problems), len(tr.identities), strings.Join(problems[:min(20, len(problems))], "\n  "))
	}
	if compared != accepted {
		t.Errorf("histories hold %d of the truth's %d accepted declarations where the truth files them", compared, accepted)
	}
	return compared, made
}

func checkIdentity(ministry, checkpoint procs.Clients, id sim.TruthIdentity, qrid string, d *identity.Deriver, want map[string]bool, report func(string, ...any)) (int, calls) {
	var made calls
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := ministry.Audit.GetHistory(ctx, &lienthongv1.GetHistoryRequest{QrId: qrid, Reason: "e2e ground truth check"})
	if err != nil {
		report("%s (%s): GetHistory: %v", id.Key, qrid, err)
		return 0, made
	}
	made.histories++
	if h.GetQrId() != qrid {
		report("%s: GetHistory(%s) answered for %s", id.Key, qrid, h.GetQrId())
	}
	compared := 0
	got := map[string]bool{}
	for _, decl := range h.GetDeclarations() {
		s := decl.GetSource()
		k := recordKey(s.GetPlatform(), s.GetRecordId(), s.GetVersion())
		got[k] = true
		if want[k] {
			compared++
		} else {
			report("%s: history holds %s, which the truth files elsewhere", id.Key, k)
		}
	}
	for k := range want {
		if !got[k] {
			report("%s: history lacks %s", id.Key, k)
		}
	}

	l, err := checkpoint.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: qrid})
	if err != nil {
		report("%s: Lookup(%s): %v", id.Key, qrid, err)
		return compared, made
	}
	made.lookups++
	if l.GetQrId() != qrid || l.GetQrForm() != lienthongv1.QRForm_QR_FORM_QR_ID {
		report("%s: Lookup(%s) = %s as %v", id.Key, qrid, l.GetQrId(), l.GetQrForm())
	}
	if want := "STATUS_" + id.Status; l.GetStatus().String() != want {
		report("%s: status %v, truth %s (newest %v at %s)", id.Key, l.GetStatus(), want, id.Newest, id.NewestAt)
	}
	if l.GetFlags().GetUnverifiedIdentity() == id.Verified {
		report("%s: unverified_identity flag %v, truth verified %v", id.Key, l.GetFlags().GetUnverifiedIdentity(), id.Verified)
	}
	if l.GetFlags().GetInconsistent() != (len(id.Inconsistencies) > 0) {
		report("%s: inconsistent flag %v, truth %v", id.Key, l.GetFlags().GetInconsistent(), id.Inconsistencies)
	}
	var platforms []string
	for _, p := range id.Platforms {
		platforms = append(platforms, string(p))
	}
	sort.Strings(platforms)
	if !slices.Equal(l.GetPlatforms(), platforms) {
		report("%s: platforms %v, truth %v", id.Key, l.GetPlatforms(), platforms)
	}
	n := l.GetNewest()
	if id.Newest[canonical.Platform(n.GetPlatform())] != n.GetRecordId()+"@"+n.GetVersion() || !n.GetDeclaredAt().AsTime().Equal(id.NewestAt) {
		report("%s: newest %s %s@%s at %s, truth %v at %s", id.Key, n.GetPlatform(), n.GetRecordId(), n.GetVersion(), n.GetDeclaredAt().AsTime(), id.Newest, id.NewestAt)
	}
	for _, a := range id.Aliases {
		ak, ok := keyOf(a)
		if !ok {
			report("%s: alias %q has no known kind", id.Key, a)
			continue
		}
		aq := d.QRID(ak)
		la, err := checkpoint.Checkpoint.Lookup(ctx, &lienthongv1.LookupRequest{Qr: aq})
		if err == nil {
			made.lookups++
		}
		if err != nil || la.GetQrId() != qrid {
			report("%s: alias %s (%s) resolves to %q (%v), want %s", id.Key, a, aq, la.GetQrId(), err, qrid)
		}
	}
	return compared, made
}

// countAccesses reads the whole access log (all pages) and counts its entries by action.
func countAccesses(t *testing.T, c procs.Clients) map[string]int {
	t.Helper()
	out := map[string]int{}
	for token, pages := "", 0; ; pages++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		resp, err := c.Audit.ListAccessLog(ctx, &lienthongv1.ListAccessLogRequest{PageSize: 1000, PageToken: token})
		cancel()
		if err != nil {
			t.Fatalf("ListAccessLog page %d: %v", pages, err)
		}
		for _, a := range resp.GetAccesses() {
			out[a.GetAction()]++
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
		if pages > 10000 {
			t.Fatal("ListAccessLog pages never end")
		}
	}
}

// checkInconsistencies lists every inconsistent identity (all pages) and compares the set
// and each one's fields and platform pairs with the truth.
func checkInconsistencies(t *testing.T, c procs.Clients, tr *truth, qrids map[string]string) {
	t.Helper()
	got := map[string]string{}
	for token, pages := "", 0; ; pages++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		resp, err := c.Audit.ListInconsistencies(ctx, &lienthongv1.ListInconsistenciesRequest{PageSize: 1000, PageToken: token})
		cancel()
		if err != nil {
			t.Fatalf("ListInconsistencies page %d: %v", pages, err)
		}
		for _, id := range resp.GetIdentities() {
			var incs []string
			for _, inc := range id.GetInconsistencies() {
				field := strings.ToLower(strings.TrimPrefix(inc.GetField().String(), "COMPARED_FIELD_"))
				incs = append(incs, field+":"+inc.GetPlatformA()+"|"+inc.GetPlatformB())
			}
			if _, dup := got[id.GetQrId()]; dup {
				t.Errorf("ListInconsistencies lists %s twice", id.GetQrId())
			}
			got[id.GetQrId()] = fmt.Sprintf("verified=%v %s", id.GetVerified(), reasonSet(incs))
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		if pages > 10000 {
			t.Fatal("ListInconsistencies pages never end")
		}
	}
	want := map[string]string{}
	for _, id := range tr.identities {
		if len(id.Inconsistencies) == 0 {
			continue
		}
		var incs []string
		for _, inc := range id.Inconsistencies {
			pair := []string{string(inc.Platforms[0]), string(inc.Platforms[1])}
			sort.Strings(pair)
			incs = append(incs, inc.Field+":"+pair[0]+"|"+pair[1])
		}
		want[qrids[id.Key]] = fmt.Sprintf("verified=%v %s", id.Verified, reasonSet(incs))
	}
	if len(want) != tr.summary.InconsistentIdentity {
		t.Fatalf("truth: %d identities with inconsistencies, summary says %d", len(want), tr.summary.InconsistentIdentity)
	}
	diffMaps(t, "ListInconsistencies (QR id → fields)", got, want)
}
