package sim

import (
	"encoding/json"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// ValidityWindow is how long a declaration keeps a person CLEAR or SCREEN before STALE.
const ValidityWindow = 72 * time.Hour

// GroundTruth is what the gateway must make of the population, exactly.
type GroundTruth struct {
	Records    []TruthRecord   // one per native record version, in Population.Records order
	Deliveries []TruthDelivery // the second deliveries of re-sent Bluezone batches
	Identities []TruthIdentity // sorted by key
	People     []TruthPerson   // one per person with at least one accepted declaration
	Summary    Summary
}

// TruthRecord is the expected outcome of one native record version.
type TruthRecord struct {
	Type        string             `json:"type"` // "record"
	Platform    canonical.Platform `json:"platform"`
	RecordID    string             `json:"record_id"`
	Version     string             `json:"version"`
	PersonID    string             `json:"person_id"`
	Outcome     Outcome            `json:"outcome"`
	Reasons     []canonical.Reason `json:"reasons,omitempty"`
	Fault       Fault              `json:"fault,omitempty"`
	IdentityKey string             `json:"identity_key,omitempty"` // the identity it is filed under (accepted only)
	OwnKey      string             `json:"own_key,omitempty"`      // KeyOf the declaration itself (accepted only)
	DeclaredAt  time.Time          `json:"declared_at"`
	Correction  bool               `json:"correction,omitempty"`
	Superseded  bool               `json:"superseded,omitempty"`
	Late        bool               `json:"late,omitempty"`
	Variant     string             `json:"variant,omitempty"`
}

// TruthDelivery is the expected answer to a repeated delivery.
type TruthDelivery struct {
	Type     string             `json:"type"` // "delivery"
	Platform canonical.Platform `json:"platform"`
	BatchID  string             `json:"batch_id"`
	RecordID string             `json:"record_id"`
	Version  string             `json:"version"`
	Outcome  Outcome            `json:"outcome"`           // duplicate for an accepted record; a rejected one is rejected again
	Reasons  []canonical.Reason `json:"reasons,omitempty"` // the rejected record's reasons, given again
}

// Inconsistency is a field on which two platforms' newest declarations of one identity disagree.
type Inconsistency struct {
	Field     string                `json:"field"` // name, birth_date, gender, phone, province
	Platforms [2]canonical.Platform `json:"platforms"`
}

// TruthIdentity is one expected identity (QR id) with its view.
type TruthIdentity struct {
	Type            string                        `json:"type"` // "identity"
	Key             string                        `json:"key"`
	Verified        bool                          `json:"verified"`
	Aliases         []string                      `json:"aliases,omitempty"` // keys resolving to this one that occur in the data
	Persons         []string                      `json:"persons"`
	Platforms       []canonical.Platform          `json:"platforms"`
	Newest          map[canonical.Platform]string `json:"newest"` // platform → "record_id@version"
	NewestAt        time.Time                     `json:"newest_at"`
	Status          string                        `json:"status"` // CLEAR, SCREEN or STALE at the epoch
	Inconsistencies []Inconsistency               `json:"inconsistencies,omitempty"`
}

// TruthPerson is one person's expected identities and inconsistencies.
type TruthPerson struct {
	Type            string          `json:"type"` // "person"
	PersonID        string          `json:"person_id"`
	IdentityKeys    []string        `json:"identity_keys"`
	Inconsistencies []Inconsistency `json:"inconsistencies,omitempty"`
}

// Counts are the expected counts of one platform (or all).
type Counts struct {
	Versions    int                      `json:"versions"` // distinct native record versions
	Accepted    int                      `json:"accepted"`
	Rejected    int                      `json:"rejected"`
	ByReason    map[canonical.Reason]int `json:"rejected_by_reason"` // a record counts once per distinct reason
	Corrections int                      `json:"corrections,omitempty"`
	Late        int                      `json:"late,omitempty"`
	Deliveries  int                      `json:"deliveries"`               // planned item deliveries (Bluezone re-sends included)
	Duplicates  int                      `json:"duplicates,omitempty"`     // re-deliveries of accepted records (answered duplicate)
	Redelivered int                      `json:"rejected_again,omitempty"` // re-deliveries of rejected records (answered rejected again)
}

// Summary holds the expected counts.
type Summary struct {
	Type                 string                        `json:"type"` // "summary"
	Seed                 int64                         `json:"seed"`
	Epoch                time.Time                     `json:"epoch"`
	People               int                           `json:"people"`
	Platforms            map[canonical.Platform]Counts `json:"platforms"`
	Total                Counts                        `json:"total"`
	Identities           int                           `json:"identities"`
	Unverified           int                           `json:"unverified_identities"`
	InconsistentIdentity int                           `json:"inconsistent_identities"`
	AmbiguousWeakKeys    int                           `json:"ambiguous_weak_keys"` // weak keys two strong identities claim; 0 by construction
}

// GroundTruth computes (once) what the gateway must make of the population.
func (p *Population) GroundTruth() *GroundTruth {
	if p.truth == nil {
		p.truth = computeTruth(p)
	}
	return p.truth
}

func computeTruth(p *Population) *GroundTruth {
	gt := &GroundTruth{Records: make([]TruthRecord, 0, len(p.Records))}
	// Identity resolution: strong keys are identities; a weak key belongs to the one strong
	// identity whose declarations name it as an alias, or is its own unverified identity.
	own := make([]string, len(p.Records))
	// claims maps a weaker key to the one strong key that claims it, or to "" when two do.
	claims := map[string]string{}
	for i, r := range p.Records {
		if r.Fault != "" {
			continue
		}
		k, aliases, ok := identityKeys(r.Intended.Person)
		if !ok {
			continue
		}
		own[i] = k
		for _, a := range aliases {
			if c, seen := claims[a]; !seen {
				claims[a] = k
			} else if c != k {
				claims[a] = ""
			}
		}
	}
	resolve := func(k string) string {
		if c := claims[k]; c != "" {
			return c
		}
		return k
	}
	ambiguous := 0
	for _, c := range claims {
		if c == "" {
			ambiguous++
		}
	}
	type group struct {
		key     string
		aliases []string
		persons []string
		newest  map[canonical.Platform]*Record
	}
	groups := map[string]*group{}
	for i, r := range p.Records {
		tr := TruthRecord{Type: "record", Platform: r.Platform, RecordID: r.RecordID, Version: r.Version, PersonID: r.PersonID,
			Outcome: r.Outcome(), Reasons: r.Reasons, Fault: r.Fault, DeclaredAt: r.DeclaredAt,
			Correction: r.Correction, Superseded: r.Superseded, Late: r.Late, Variant: r.Variant}
		if r.Fault == "" && own[i] != "" {
			tr.OwnKey = own[i]
			tr.IdentityKey = resolve(own[i])
			g := groups[tr.IdentityKey]
			if g == nil {
				g = &group{key: tr.IdentityKey, newest: make(map[canonical.Platform]*Record, 3)}
				groups[tr.IdentityKey] = g
			}
			if own[i] != tr.IdentityKey {
				if !slices.Contains(g.aliases, own[i]) {
					g.aliases = append(g.aliases, own[i])
				}
			}
			if !slices.Contains(g.persons, r.PersonID) {
				g.persons = append(g.persons, r.PersonID)
			}
			if n := g.newest[r.Platform]; n == nil || newer(r, n) {
				g.newest[r.Platform] = r
			}
		}
		gt.Records = append(gt.Records, tr)
	}
	personKeys := map[string][]string{}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	byKey := map[string]*TruthIdentity{}
	for _, k := range keys {
		g := groups[k]
		id := TruthIdentity{Type: "identity", Key: k, Verified: !isWeak(k), Newest: map[canonical.Platform]string{}}
		id.Aliases = g.aliases
		sort.Strings(id.Aliases)
		for _, pid := range g.persons {
			id.Persons = append(id.Persons, pid)
			personKeys[pid] = append(personKeys[pid], k)
		}
		sort.Strings(id.Persons)
		var newest *Record
		for _, pl := range platforms {
			r := g.newest[pl]
			if r == nil {
				continue
			}
			id.Platforms = append(id.Platforms, pl)
			id.Newest[pl] = r.RecordID + "@" + r.Version
			if newest == nil || newer(r, newest) {
				newest = r
			}
		}
		id.NewestAt = newest.DeclaredAt
		id.Status = statusOf(newest, p.Config.Epoch)
		id.Inconsistencies = inconsistencies(g.newest)
		gt.Identities = append(gt.Identities, id)
		byKey[k] = &gt.Identities[len(gt.Identities)-1]
	}
	for _, person := range p.People {
		ks := personKeys[person.ID]
		if len(ks) == 0 {
			continue
		}
		tp := TruthPerson{Type: "person", PersonID: person.ID}
		tp.IdentityKeys = ks // keys are visited in sorted order
		for _, k := range tp.IdentityKeys {
			tp.Inconsistencies = append(tp.Inconsistencies, byKey[k].Inconsistencies...)
		}
		gt.People = append(gt.People, tp)
	}
	gt.Deliveries = deliveries(p)
	gt.Summary = summarize(p, gt, ambiguous)
	return gt
}

// newer reports whether a is newer than b: by declaration time, then source version.
func newer(a, b *Record) bool {
	if !a.DeclaredAt.Equal(b.DeclaredAt) {
		return a.DeclaredAt.After(b.DeclaredAt)
	}
	return a.Version > b.Version
}

// statusOf is a checkpoint's answer at the epoch for an identity whose newest declaration is r.
func statusOf(r *Record, epoch time.Time) string {
	switch {
	case epoch.Sub(r.DeclaredAt) > ValidityWindow:
		return "STALE"
	case declaresIllness(r.Intended.Health):
		return "SCREEN"
	}
	return "CLEAR"
}

func declaresIllness(h canonical.Health) bool {
	return h.HasSymptoms || len(h.Symptoms) > 0 || len(h.Exposures) > 0
}

// inconsistencies compares the newest declarations of every pair of platforms.
func inconsistencies(newest map[canonical.Platform]*Record) []Inconsistency {
	var out []Inconsistency
	for i, a := range platforms {
		for _, b := range platforms[i+1:] {
			ra, rb := newest[a], newest[b]
			if ra == nil || rb == nil {
				continue
			}
			pa, pb := ra.Intended.Person, rb.Intended.Person
			pair := [2]canonical.Platform{a, b}
			if pa.NameKey != pb.NameKey {
				out = append(out, Inconsistency{"name", pair})
			}
			da, db := pa.BirthDate, pb.BirthDate
			if da.Year != db.Year || da.Precision == canonical.PrecisionDay && db.Precision == canonical.PrecisionDay && da != db {
				out = append(out, Inconsistency{"birth_date", pair})
			}
			if pa.Gender != canonical.GenderUnspecified && pb.Gender != canonical.GenderUnspecified && pa.Gender != pb.Gender {
				out = append(out, Inconsistency{"gender", pair})
			}
			if pa.Phone != "" && pb.Phone != "" && pa.Phone != pb.Phone {
				out = append(out, Inconsistency{"phone", pair})
			}
			aa, ab := ra.Intended.Address, rb.Intended.Address
			if aa.ProvinceCode != "" && ab.ProvinceCode != "" && aa.Province2025 != ab.Province2025 {
				out = append(out, Inconsistency{"province", pair})
			}
		}
	}
	return out
}

// deliveries lists the second deliveries of re-sent Bluezone batches.
func deliveries(p *Population) []TruthDelivery {
	var out []TruthDelivery
	for _, b := range p.batches {
		if !b.Resend {
			continue
		}
		for _, i := range b.Records {
			r := p.Records[i]
			o := OutcomeDuplicate
			if r.Fault != "" {
				o = OutcomeRejected
			}
			out = append(out, TruthDelivery{Type: "delivery", Platform: r.Platform, BatchID: b.ID, RecordID: r.RecordID, Version: r.Version,
				Outcome: o, Reasons: r.Reasons})
		}
	}
	return out
}

func summarize(p *Population, gt *GroundTruth, ambiguous int) Summary {
	s := Summary{Type: "summary", Seed: p.Config.Seed, Epoch: p.Config.Epoch, People: len(p.People), Platforms: map[canonical.Platform]Counts{}, AmbiguousWeakKeys: ambiguous}
	add := func(c *Counts, r *Record) {
		c.Versions++
		c.Deliveries++
		if r.Fault != "" {
			c.Rejected++
			if c.ByReason == nil {
				c.ByReason = map[canonical.Reason]int{}
			}
			seen := map[canonical.Reason]bool{}
			for _, reason := range r.Reasons {
				if !seen[reason] {
					seen[reason] = true
					c.ByReason[reason]++
				}
			}
		} else {
			c.Accepted++
		}
		if r.Correction {
			c.Corrections++
		}
		if r.Late {
			c.Late++
		}
	}
	for _, r := range p.Records {
		c := s.Platforms[r.Platform]
		add(&c, r)
		s.Platforms[r.Platform] = c
		add(&s.Total, r)
	}
	for _, d := range gt.Deliveries {
		c := s.Platforms[d.Platform]
		c.Deliveries++
		s.Total.Deliveries++
		if d.Outcome == OutcomeDuplicate {
			c.Duplicates++
			s.Total.Duplicates++
		} else {
			c.Redelivered++
			s.Total.Redelivered++
		}
		s.Platforms[d.Platform] = c
	}
	s.Identities = len(gt.Identities)
	for _, id := range gt.Identities {
		if !id.Verified {
			s.Unverified++
		}
		if len(id.Inconsistencies) > 0 {
			s.InconsistentIdentity++
		}
	}
	return s
}

// WriteGroundTruth writes the ground truth as JSON lines: every record version, every repeated
// delivery, every identity, every person, then the summary.
func (p *Population) WriteGroundTruth(w io.Writer) error {
	return writeTruth(w, p.GroundTruth(), p.DemoQRs())
}

func writeTruth(w io.Writer, gt *GroundTruth, demo []DemoQR) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range gt.Records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	for _, d := range gt.Deliveries {
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	for _, id := range gt.Identities {
		if err := enc.Encode(id); err != nil {
			return err
		}
	}
	for _, tp := range gt.People {
		if err := enc.Encode(tp); err != nil {
			return err
		}
	}
	for _, qr := range demo {
		if err := enc.Encode(qr); err != nil {
			return err
		}
	}
	return enc.Encode(gt.Summary)
}
