package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/qr"
)

// small is a population big enough to hold every fault and variant, quick to generate.
var small = Config{Seed: 42, People: 3000, Declarations: 7000, WrongShare: 0.05, Registry: true}

func truthBytes(t *testing.T, pop *Population) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pop.WriteGroundTruth(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := truthBytes(t, Generate(small)), truthBytes(t, Generate(small))
	if !bytes.Equal(a, b) {
		t.Fatal("two populations from one seed differ")
	}
	other := small
	other.Seed++
	if bytes.Equal(a, truthBytes(t, Generate(other))) {
		t.Fatal("another seed gave the same population")
	}
}

// TestDefaultPopulation checks the source document's figures: 96,347 declarations in thirds
// over the three platforms, 1.3% of them wrong.
func TestDefaultPopulation(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the full 96,347 declarations")
	}
	pop := Generate(Config{Seed: 1})
	checkCounts(t, pop)
	s := pop.GroundTruth().Summary
	if s.Total.Versions != DefaultDeclarations {
		t.Errorf("versions %d, want %d", s.Total.Versions, DefaultDeclarations)
	}
	if want := int(math.Round(DefaultDeclarations * DefaultWrongShare)); s.Total.Rejected != want {
		t.Errorf("rejected %d, want %d", s.Total.Rejected, want)
	}
	for _, pl := range platforms {
		if n := s.Platforms[pl].Versions; math.Abs(float64(n)-DefaultDeclarations/3.0) > 2 {
			t.Errorf("%s has %d versions, want a third", pl, n)
		}
	}
}

// checkCounts asserts that the ground truth's counts add up to the generated records.
func checkCounts(t *testing.T, pop *Population) {
	t.Helper()
	gt := pop.GroundTruth()
	s := gt.Summary
	if len(pop.Records) != pop.Config.Declarations || len(gt.Records) != len(pop.Records) {
		t.Errorf("%d records, %d truth records, want %d", len(pop.Records), len(gt.Records), pop.Config.Declarations)
	}
	var sum Counts
	for _, pl := range platforms {
		c := s.Platforms[pl]
		if c.Accepted+c.Rejected != c.Versions {
			t.Errorf("%s: accepted %d + rejected %d != versions %d", pl, c.Accepted, c.Rejected, c.Versions)
		}
		byReason := 0
		for _, n := range c.ByReason {
			byReason += n
		}
		if byReason < c.Rejected {
			t.Errorf("%s: %d reasons for %d rejections", pl, byReason, c.Rejected)
		}
		if c.Deliveries != c.Versions+c.Duplicates+c.Redelivered {
			t.Errorf("%s: deliveries %d != versions %d + re-deliveries %d", pl, c.Deliveries, c.Versions, c.Duplicates+c.Redelivered)
		}
		sum.Versions += c.Versions
		sum.Accepted += c.Accepted
		sum.Rejected += c.Rejected
		sum.Deliveries += c.Deliveries
	}
	if sum.Versions != s.Total.Versions || sum.Accepted != s.Total.Accepted || sum.Rejected != s.Total.Rejected || sum.Deliveries != s.Total.Deliveries {
		t.Errorf("platform counts %+v do not add up to the total %+v", sum, s.Total)
	}
	if want := int(float64(pop.Config.Declarations)*pop.Config.WrongShare + 0.5); s.Total.Rejected != want {
		t.Errorf("rejected %d, want exactly %d", s.Total.Rejected, want)
	}
	if s.AmbiguousWeakKeys != 0 {
		t.Errorf("%d weak keys are claimed by two identities", s.AmbiguousWeakKeys)
	}
	resent := 0
	for _, b := range pop.Batches() {
		if len(b.Records) > 1000 {
			t.Errorf("batch %s has %d items", b.ID, len(b.Records))
		}
		if b.Resend {
			resent += len(b.Records)
		}
	}
	if len(gt.Deliveries) != resent {
		t.Errorf("%d re-deliveries in the truth, %d items re-sent", len(gt.Deliveries), resent)
	}
}

func TestSmallPopulationCountsAddUp(t *testing.T) {
	for _, cfg := range []Config{
		small,
		{Seed: 3, People: 200, Declarations: 500},
		// More people than declarations: some people never declare.
		{Seed: 4, People: 50, Declarations: 30},
		// No wrong declarations at all.
		{Seed: 5, People: 300, Declarations: 800, WrongShare: -1},
	} {
		checkCounts(t, Generate(cfg))
	}
}

// TestEveryRuleIsBroken: every fault (so every validation rule) occurs, with its reasons.
func TestEveryRuleIsBroken(t *testing.T) {
	pop := Generate(small)
	seen := map[Fault]bool{}
	for _, r := range pop.Records {
		if r.Fault == "" {
			if r.Reasons != nil {
				t.Errorf("%s: valid but with reasons %v", r.RecordID, r.Reasons)
			}
			continue
		}
		seen[r.Fault] = true
		if !slices.Equal(r.Reasons, specOf(r.Fault).reasons) {
			t.Errorf("%s: reasons %v for fault %s", r.RecordID, r.Reasons, r.Fault)
		}
	}
	for _, s := range faultSpecs {
		if !seen[s.fault] {
			t.Errorf("no record breaks %s", s.fault)
		}
	}
	// Without the register, no register faults.
	cfg := small
	cfg.Registry = false
	for _, r := range Generate(cfg).Records {
		if r.Fault == FaultRegistryMismatch || r.Fault == FaultRegistryUnknown {
			t.Fatalf("%s: register fault %s with the register off", r.RecordID, r.Fault)
		}
	}
}

func TestDeclarationTimes(t *testing.T) {
	pop := Generate(small)
	epoch := pop.Config.Epoch
	stale := 0
	for _, r := range pop.Records {
		age := epoch.Sub(r.DeclaredAt)
		p := pop.Person(r.PersonID)
		switch {
		case r.Fault == FaultDeclaredInFuture:
			if age > -2*time.Hour {
				t.Errorf("%s: declared %v before the epoch, want in the future", r.RecordID, age)
			}
		case p.Stale:
			stale++
			if age < 4*24*time.Hour || age > 6*24*time.Hour {
				t.Errorf("%s: stale person's declaration is %v old", r.RecordID, age)
			}
		default:
			if age <= 0 || age > 48*time.Hour {
				t.Errorf("%s: declared %v before the epoch, want within 48 hours", r.RecordID, age)
			}
		}
		if r.UpdatedAt.Before(r.DeclaredAt) || r.UpdatedAt.After(epoch) && r.Fault != FaultDeclaredInFuture {
			t.Errorf("%s: updated_at %v outside [declared %v, epoch]", r.RecordID, r.UpdatedAt, r.DeclaredAt)
		}
	}
	if stale == 0 {
		t.Error("no stale declarations")
	}
}

// TestInconsistenciesComeFromVariants: every inconsistency in the truth comes from a
// difference the generator put there on purpose, and the look-alike differences (tone marks,
// merged provinces, upper case without diacritics) never make one.
func TestInconsistenciesComeFromVariants(t *testing.T) {
	pop := Generate(small)
	gt := pop.GroundTruth()
	causes := map[string][]string{
		"name":       {variantName},
		"birth_date": {variantBirthYear, variantBirthDay},
		"gender":     {variantGender},
		"phone":      {variantPhone},
		"province":   {variantProvinceMoved},
	}
	byID := map[string]*Record{}
	for _, r := range pop.Records {
		byID[r.RecordID+"@"+r.Version] = r
	}
	fields := map[string]bool{}
	for _, id := range gt.Identities {
		for _, inc := range id.Inconsistencies {
			fields[inc.Field] = true
			a, b := byID[id.Newest[inc.Platforms[0]]], byID[id.Newest[inc.Platforms[1]]]
			if !slices.Contains(causes[inc.Field], a.Variant) && !slices.Contains(causes[inc.Field], b.Variant) {
				t.Errorf("identity %s: %s differs between %v but neither record has a variant for it (%q, %q)", id.Key, inc.Field, inc.Platforms, a.Variant, b.Variant)
			}
		}
	}
	for f := range causes {
		if !fields[f] {
			t.Errorf("no identity is inconsistent on %s", f)
		}
	}
}

func TestDemoQRs(t *testing.T) {
	pop := Generate(small)
	want := map[DemoRole]struct {
		status                 string
		verified, inconsistent bool
	}{
		DemoClear:        {"CLEAR", true, false},
		DemoScreen:       {"SCREEN", true, false},
		DemoStale:        {"STALE", true, false},
		DemoWeak:         {"CLEAR", false, false},
		DemoInconsistent: {"CLEAR", true, true},
	}
	qrs := pop.DemoQRs()
	if len(qrs) != len(want) {
		t.Fatalf("%d demo QRs, want %d", len(qrs), len(want))
	}
	for _, q := range qrs {
		w := want[q.Role]
		if q.Status != w.status || q.Verified != w.verified || q.Inconsistent != w.inconsistent {
			t.Errorf("%s: status %s verified %v inconsistent %v, want %+v", q.Role, q.Status, q.Verified, q.Inconsistent, w)
		}
		if q.Key.String() != q.IdentityKey {
			t.Errorf("%s: key %q, identity key %q", q.Role, q.Key, q.IdentityKey)
		}
		p := pop.Person(q.PersonID)
		sc, err := qr.ParsePersonal1405(q.Personal1405)
		if err != nil {
			t.Errorf("%s: 1405 QR %q: %v", q.Role, q.Personal1405, err)
		} else if sc.BirthDate != p.BirthDate || sc.FullName != foldUpper(p.FullName) {
			t.Errorf("%s: 1405 QR reads %+v", q.Role, sc)
		}
		if q.ChipCard == "" {
			continue
		}
		sc, err = qr.ParseChipCard(q.ChipCard)
		if err != nil {
			t.Errorf("%s: chip card %q: %v", q.Role, q.ChipCard, err)
		} else if sc.Document.Number != p.Document.Number || sc.FormerCMND != p.FormerCMND || sc.BirthDate != p.BirthDate || sc.Gender != p.Gender {
			t.Errorf("%s: chip card reads %+v", q.Role, sc)
		}
	}
}

func foldUpper(s string) string {
	b := []byte(canonical.FoldName(s))
	return string(bytes.ToUpper(b))
}

func TestGroundTruthLines(t *testing.T) {
	pop := Generate(Config{Seed: 9, People: 400, Declarations: 1000})
	sc := bufio.NewScanner(bytes.NewReader(truthBytes(t, pop)))
	sc.Buffer(nil, 1<<20)
	types := map[string]int{}
	for sc.Scan() {
		var line struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Type == "" {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		types[line.Type]++
	}
	gt := pop.GroundTruth()
	if types["record"] != len(pop.Records) || types["summary"] != 1 || types["identity"] != len(gt.Identities) ||
		types["person"] != len(gt.People) || types["delivery"] != len(gt.Deliveries) || types["demo_qr"] != len(pop.DemoQRs()) {
		t.Errorf("line types %v", types)
	}
}
