// Package sim generates a realistic population of health declarations with its ground truth,
// and serves it as the three partner platforms would (NCOVI feed, tokhaiyte export, Bluezone
// pusher, population register), with injectable faults.
//
// Generate is pure: a Config (seed, sizes, epoch) always gives the same Population. Each
// native record version is a Record: the declaration as the platform holds it (Typed, messy
// on purpose), what Normalize must make of it (Intended), and, for the wrong ones, the rule
// deliberately broken (Fault) with the exact reason codes the gateway must answer. The native
// forms come from the adapters' own encoders (bluezone.EncodeItem, ncovi.EncodeRecord,
// tokhaiyte.EncodeRow and WriteCSV).
//
// GroundTruth (and WriteGroundTruth, as JSON lines) says what the gateway must make of it all:
// per record version its outcome, reasons and identity key; per Bluezone re-delivery its
// answer; per identity (keys from canonical/identity, weak keys merged into the one strong
// identity that claims them) its platforms, newest record per platform, inconsistencies and
// status at the epoch; per person their identities; the demo QRs; summary counts. The
// partnersim command's tests deliver a population through the real adapters, ingest pipeline
// and store and find it exactly so.
//
// Start serves the population on loopback (NCOVI's cursor feed, tokhaiyte's CSV export by
// window, the population register) and Servers.PushBluezone posts Bluezone's signed batches
// to a gateway; Faults injects errors, 429s, time-outs, truncation, latency and down windows
// per partner, deterministically given the seed and the order of requests.
package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// DefaultDeclarations is the source document's count of online declarations over two days.
const DefaultDeclarations = 96347

// DefaultWrongShare is the share of declarations rejected for wrong or mismatched information.
const DefaultWrongShare = 0.013

// DefaultEpoch is the "now" of the population when Config.Epoch is zero: 16 August 2021, 07:00
// in Vietnam, the morning after the source document's first two days.
var DefaultEpoch = time.Date(2021, 8, 16, 0, 0, 0, 0, time.UTC)

// Config says what population to generate. The zero value of each field means its default.
type Config struct {
	Seed         int64
	People       int       // people; default Declarations*10/24 (about 2.4 declarations each)
	Declarations int       // native record versions in all; default 96,347
	WrongShare   float64   // share of versions that must be rejected; default 0.013, negative for none
	Epoch        time.Time // the population's "now": declarations fall in the 48 hours before it
	StaleShare   float64   // share of people whose declarations are all 4–6 days old; default 0.02, negative for none
	Registry     bool      // also generate population-register mismatches (registry_mismatch, registry_unknown)
	BatchSize    int       // Bluezone items per pushed batch (≤ 1,000); default 500
	ResendShare  float64   // share of Bluezone batches pushed twice; default 0.03, negative for none
	Corrections  float64   // NCOVI corrections per NCOVI record; default 0.04, negative for none
}

func (c Config) withDefaults() Config {
	if c.Declarations <= 0 {
		c.Declarations = DefaultDeclarations
	}
	if c.People <= 0 {
		c.People = max(1, c.Declarations*10/24)
	}
	if c.WrongShare == 0 {
		c.WrongShare = DefaultWrongShare
	}
	if c.WrongShare < 0 {
		c.WrongShare = 0
	}
	if c.Epoch.IsZero() {
		c.Epoch = DefaultEpoch
	}
	c.Epoch = c.Epoch.UTC().Truncate(time.Second)
	if c.StaleShare == 0 {
		c.StaleShare = 0.02
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	c.BatchSize = min(c.BatchSize, 1000) // the webhook takes at most 1,000 items
	if c.ResendShare == 0 {
		c.ResendShare = 0.03
	}
	if c.Corrections == 0 {
		c.Corrections = 0.04
	}
	return c
}

// Population is a generated population: people, every native record version of their
// declarations, and the plan of how the partners deliver them.
type Population struct {
	Config  Config // with defaults filled in
	People  []*Person
	Records []*Record // every native record version, in generation order

	byPerson map[string]*Person
	// ncoviFeed is the NCOVI feed order (indices into Records), corrections later in the feed.
	ncoviFeed []int
	// tokhaiyte holds the tokhaiyte records' indices by declaration time.
	tokhaiyte []int
	// batches is the Bluezone push plan.
	batches []Batch
	// registry maps a CCCD number to what the population register says about it.
	registry map[string]Citizen
	demo     map[DemoRole]*Person
	demoQRs  []DemoQR
	truth    *GroundTruth
}

// Person returns the person with the id, or nil.
func (p *Population) Person(id string) *Person { return p.byPerson[id] }

// Batch is one Bluezone batch of the push plan.
type Batch struct {
	ID      string
	Records []int // indices into Population.Records
	Resend  bool  // pushed a second time after it was answered (a duplicate delivery)
}

// Batches returns the Bluezone push plan, in push order.
func (p *Population) Batches() []Batch { return p.batches }

// NCOVIFeed returns the NCOVI feed order as indices into Records.
func (p *Population) NCOVIFeed() []int { return p.ncoviFeed }

// Generate builds the population the config describes. It is pure: the same config gives the
// same population, byte for byte.
func Generate(cfg Config) *Population {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6c69656e74686f6e))
	pop := &Population{Config: cfg, byPerson: map[string]*Person{}, registry: map[string]Citizen{}}
	pg := newPeopleGen(rng, cfg.Epoch)
	pop.People = pg.generate(cfg.People)
	for _, p := range pop.People {
		pop.byPerson[p.ID] = p
	}
	b := &builder{pop: pop, rng: rng, pg: pg}
	b.assignPlatforms()
	b.chooseDemo()
	b.markStale()
	b.planRecords()
	b.profiles()
	b.render()
	b.injectFaults()
	b.correct()
	b.order()
	b.buildRegistry()
	return pop
}

// builder carries the state of one Generate call.
type builder struct {
	pop     *Population
	rng     *rand.Rand
	pg      *peopleGen
	slots   []slot
	profile map[profileKey]*profile
	// corrections is the exact number of NCOVI corrections to add.
	corrections int
}

type profileKey struct {
	person   string
	platform canonical.Platform
}

// slot is a planned declaration before it is rendered.
type slot struct {
	person   *Person
	platform canonical.Platform
	at       time.Time
}

var platforms = []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}

// assignPlatforms gives each person the platforms they declare on: many people on two or
// three; children only where a parent can declare for them (Bluezone's and tokhaiyte's "on
// behalf" answers).
func (b *builder) assignPlatforms() {
	for _, p := range b.pop.People {
		if p.IsChild() {
			switch b.rng.IntN(3) {
			case 0:
				p.Platforms = []canonical.Platform{canonical.PlatformBluezone}
			case 1:
				p.Platforms = []canonical.Platform{canonical.PlatformTokhaiyte}
			default:
				p.Platforms = []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformTokhaiyte}
			}
			continue
		}
		k := 1 + pickWeighted(b.rng, []int{45, 35, 20})
		perm := b.rng.Perm(3)[:k]
		sort.Ints(perm)
		for _, i := range perm {
			p.Platforms = append(p.Platforms, platforms[i])
		}
	}
}

// markStale makes a few people's declarations all 4–6 days old.
func (b *builder) markStale() {
	for _, p := range b.pop.People {
		if b.pop.demoRole(p) == "" && b.rng.Float64() < b.pop.Config.StaleShare {
			p.Stale = true
		}
	}
	if p := b.pop.demo[DemoStale]; p != nil {
		p.Stale = true
	}
}

// planRecords decides how many declarations each person makes on each platform so that the
// platforms get roughly equal thirds and the total is exactly Config.Declarations (NCOVI
// corrections included).
func (b *builder) planRecords() {
	cfg := b.pop.Config
	d := cfg.Declarations
	third := d / 3
	corrections := max(0, int(math.Round(float64(third)*cfg.Corrections)))
	if corrections > third/2 {
		corrections = third / 2
	}
	target := map[canonical.Platform]int{
		canonical.PlatformBluezone:  d - 2*third,
		canonical.PlatformNCOVI:     third - corrections,
		canonical.PlatformTokhaiyte: third,
	}
	b.corrections = corrections
	for _, pl := range platforms {
		var holders []*Person
		for _, p := range b.pop.People {
			if slices.Contains(p.Platforms, pl) {
				holders = append(holders, p)
			}
		}
		if len(holders) == 0 {
			for _, p := range b.pop.People {
				if !p.IsChild() || pl != canonical.PlatformNCOVI {
					p.Platforms = append(p.Platforms, pl)
					slices.Sort(p.Platforms)
					holders = append(holders, p)
				}
			}
		}
		t := target[pl]
		// Demo people keep their platforms: they go first.
		b.rng.Shuffle(len(holders), func(i, j int) { holders[i], holders[j] = holders[j], holders[i] })
		sort.SliceStable(holders, func(i, j int) bool {
			return b.pop.demoRole(holders[i]) != "" && b.pop.demoRole(holders[j]) == ""
		})
		if len(holders) > t {
			for _, p := range holders[t:] {
				p.Platforms = slices.DeleteFunc(p.Platforms, func(x canonical.Platform) bool { return x == pl })
			}
			holders = holders[:t]
		}
		for i := 0; i < t; i++ {
			var p *Person
			if i < len(holders) {
				p = holders[i]
			} else {
				p = holders[b.rng.IntN(len(holders))]
				if b.pop.demoRole(p) != "" {
					p = holders[len(holders)-1]
				}
			}
			b.slots = append(b.slots, slot{person: p, platform: pl})
		}
	}
	// Times: within the 48 hours before the epoch, or 4–6 days before it for stale people;
	// one person's declarations on one platform never share a second.
	used := map[profileKey]map[int64]bool{}
	for i := range b.slots {
		s := &b.slots[i]
		k := profileKey{s.person.ID, s.platform}
		if used[k] == nil {
			used[k] = map[int64]bool{}
		}
		for {
			var before time.Duration
			if s.person.Stale {
				before = 4*24*time.Hour + time.Duration(b.rng.Int64N(int64(2*24*time.Hour/time.Second)))*time.Second
			} else {
				before = time.Minute + time.Duration(b.rng.Int64N(int64((48*time.Hour-time.Minute)/time.Second)))*time.Second
			}
			at := b.pop.Config.Epoch.Add(-before)
			if !used[k][at.Unix()] {
				used[k][at.Unix()] = true
				s.at = at
				break
			}
		}
	}
	sort.SliceStable(b.slots, func(i, j int) bool { return b.slots[i].at.Before(b.slots[j].at) })
}
