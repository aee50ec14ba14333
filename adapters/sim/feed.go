package sim

import (
	"fmt"
	"sort"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// correct adds the NCOVI corrections: the same id again, later in the feed, with a newer
// updated_at. Some fix the field that made the first version wrong; the others update the
// street or the symptoms. A few first versions arrive late, after their correction.
func (b *builder) correct() {
	var latest, demo, fixable []*Record
	for _, r := range b.pop.Records {
		if r.Platform != nc {
			continue
		}
		spec := specOf(r.Fault)
		switch {
		case r.Fault == "" && b.pop.demoRole(b.pop.byPerson[r.PersonID]) != "":
			demo = append(demo, r)
		case r.Fault == "":
			latest = append(latest, r)
		case !spec.native && r.Fault != FaultDeclaredInFuture:
			fixable = append(fixable, r)
		}
	}
	if len(latest) == 0 {
		latest = demo // a tiny population: correct the demo people's streets
	}
	if len(latest) == 0 && len(fixable) == 0 {
		return
	}
	b.rng.Shuffle(len(latest), func(i, j int) { latest[i], latest[j] = latest[j], latest[i] })
	b.rng.Shuffle(len(fixable), func(i, j int) { fixable[i], fixable[j] = fixable[j], fixable[i] })
	fixes := min(len(fixable), b.corrections/4)
	if len(latest) == 0 && fixes == 0 && len(fixable) > 0 && b.corrections > 0 {
		// Every NCOVI record is wrong (a tiny population): the first correction fixes one, so
		// the planned corrections, and the declaration count, are still made.
		fixes = 1
	}
	for i := 0; i < b.corrections; i++ {
		var old *Record
		fix := i < fixes
		if fix {
			old = fixable[i]
		} else {
			if len(latest) == 0 {
				return // nothing valid to correct (a tiny population)
			}
			old = latest[(i-fixes)%len(latest)]
		}
		v := b.nextVersion(old, fix)
		if fix {
			latest = append(latest, v)
		} else {
			latest[(i-fixes)%len(latest)] = v
		}
		b.pop.Records = append(b.pop.Records, v)
	}
}

// nextVersion builds the correction of old.
func (b *builder) nextVersion(old *Record, fix bool) *Record {
	room := b.pop.Config.Epoch.Sub(old.UpdatedAt) - time.Second
	delta := time.Second
	if room > time.Minute {
		delta = time.Minute + time.Duration(b.rng.Int64N(int64(min(room-time.Minute, 6*time.Hour)/time.Second)+1))*time.Second
	}
	v := *old
	v.UpdatedAt = old.UpdatedAt.Add(delta)
	v.Version = canonical.VersionOf(v.UpdatedAt)
	v.Correction, v.Superseded, v.Late = true, false, false
	if fix {
		v.Typed = *old.clean
		v.Fault, v.Reasons = "", nil
	} else {
		p := b.pop.byPerson[old.PersonID]
		if b.rng.IntN(2) == 0 || p.demo != "" {
			v.Typed.Address.Street = fmt.Sprintf("%d/%d %s", 1+b.rng.IntN(400), 1+b.rng.IntN(30), streets[b.rng.IntN(len(streets))])
		} else {
			v.Typed.Health = b.health(p, nc)
		}
	}
	v.Typed.Source.Version = v.Version
	v.Intended.Source.Version = v.Version
	v.Intended.Address.Street = v.Typed.Address.Street
	v.Intended.Health = v.Typed.Health
	v.clean = nil
	old.Superseded = true
	old.Late = b.rng.IntN(100) < 20
	return &v
}

func specOf(f Fault) faultSpec {
	for _, s := range faultSpecs {
		if s.fault == f {
			return s
		}
	}
	return faultSpec{}
}

// order fixes how the partners deliver the records: the NCOVI feed by updated_at (a late first
// version after its correction), tokhaiyte by declaration time, and the Bluezone push plan.
func (b *builder) order() {
	recs := b.pop.Records
	feedKey := map[int]time.Time{}
	next := map[string]*Record{} // record id → its newest version
	for _, r := range recs {
		if r.Platform == nc {
			if n, ok := next[r.RecordID]; !ok || r.Version > n.Version {
				next[r.RecordID] = r
			}
		}
	}
	for i, r := range recs {
		switch r.Platform {
		case nc:
			key := r.UpdatedAt
			if r.Late {
				key = next[r.RecordID].UpdatedAt.Add(time.Second + time.Duration(b.rng.IntN(1800))*time.Second)
			}
			feedKey[i] = key
			b.pop.ncoviFeed = append(b.pop.ncoviFeed, i)
		case tky:
			b.pop.tokhaiyte = append(b.pop.tokhaiyte, i)
		}
	}
	sort.SliceStable(b.pop.ncoviFeed, func(i, j int) bool {
		a, c := b.pop.ncoviFeed[i], b.pop.ncoviFeed[j]
		if !feedKey[a].Equal(feedKey[c]) {
			return feedKey[a].Before(feedKey[c])
		}
		return a < c
	})
	sort.SliceStable(b.pop.tokhaiyte, func(i, j int) bool {
		return recs[b.pop.tokhaiyte[i]].DeclaredAt.Before(recs[b.pop.tokhaiyte[j]].DeclaredAt)
	})
	var bluezone []int
	for i, r := range recs {
		if r.Platform == bz {
			bluezone = append(bluezone, i)
		}
	}
	sort.SliceStable(bluezone, func(i, j int) bool { return recs[bluezone[i]].DeclaredAt.Before(recs[bluezone[j]].DeclaredAt) })
	size := b.pop.Config.BatchSize
	for start := 0; start < len(bluezone); start += size {
		end := min(start+size, len(bluezone))
		first := recs[bluezone[start]].DeclaredAt.In(canonical.VietnamZone)
		b.pop.batches = append(b.pop.batches, Batch{
			ID:      fmt.Sprintf("bz-%s-%07d", first.Format("20060102"), len(b.pop.batches)+1),
			Records: bluezone[start:end:end],
			Resend:  b.rng.Float64() < b.pop.Config.ResendShare,
		})
	}
}

// Citizen is the population register's entry for a CCCD number.
type Citizen struct {
	CCCD         string `json:"cccd"`
	FullName     string `json:"full_name"`
	DateOfBirth  string `json:"date_of_birth"` // yyyy-mm-dd
	Gender       string `json:"gender"`        // male, female, other
	ProvinceCode string `json:"province_code"` // 2021 code of the birth registration
}

// buildRegistry fills the population register with every CCCD holder's true facts.
func (b *builder) buildRegistry() {
	for _, p := range b.pop.People {
		if p.hasCCCD() {
			b.pop.registry[p.Document.Number] = Citizen{CCCD: p.Document.Number, FullName: p.FullName, DateOfBirth: p.BirthDate.String(), Gender: p.Gender.String(), ProvinceCode: p.BirthProvince}
		}
	}
}

// Citizen returns the register's entry for a CCCD number.
func (p *Population) Citizen(cccd string) (Citizen, bool) {
	c, ok := p.registry[cccd]
	return c, ok
}
