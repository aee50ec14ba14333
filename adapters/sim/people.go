package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// Person is one generated citizen (or foreign national) with the true, clean facts about them:
// what the population register knows, before any platform's typing quirks.
type Person struct {
	ID            string              // "P0000001"
	FullName      string              // NFC, family name first
	BirthDate     canonical.BirthDate // always day-precise
	Gender        canonical.Gender
	Nationality   string             // ISO alpha-2
	Document      canonical.Document // normalized; DocumentNone for children and some adults
	FormerCMND    string             // the old CMND a CCCD holder also had (carried in the chip card's QR)
	Phone         string             // E.164
	OldPhone      string             // the 11-digit national form the person still types, when the number was converted
	ProvinceCode  string             // 2021 code of the province of residence
	BirthProvince string             // 2021 code where the birth was registered (the CCCD prefix)
	District      string
	Ward          string
	Street        string
	Household     int    // people of one household share a phone
	Guardian      string // the person id of the parent who declares for a child; "" for adults
	BluezoneID    string // the person's Bluezone app id (SubjectID)
	AccountID     string // the person's NCOVI account id (SubjectID)
	Platforms     []canonical.Platform
	Stale         bool // every declaration 4–6 days before the epoch

	demo DemoRole // the person's role in the demo, if any
}

// IsChild reports whether the person is declared by a guardian.
func (p *Person) IsChild() bool { return p.Guardian != "" }

// hasCCCD reports whether the person's document is a CCCD.
func (p *Person) hasCCCD() bool { return p.Document.Type == canonical.DocumentCCCD }

// peopleGen draws people; it keeps what must stay unique across the population.
type peopleGen struct {
	rng      *rand.Rand
	epoch    time.Time
	serials  map[string]bool // CCCD/CMND/passport numbers and phones in use
	weakKeys map[string]bool // phone|folded name|year in use
	familyW  int
}

func newPeopleGen(rng *rand.Rand, epoch time.Time) *peopleGen {
	g := &peopleGen{rng: rng, epoch: epoch, serials: map[string]bool{}, weakKeys: map[string]bool{}}
	for _, f := range familyNames {
		g.familyW += f.weight
	}
	return g
}

// generate draws n people in households: a household shares one phone (always for children,
// often for spouses), so a phone never identifies a person by itself.
func (g *peopleGen) generate(n int) []*Person {
	people := make([]*Person, 0, n)
	household := 0
	for len(people) < n {
		household++
		size := 1 + g.pick([]int{45, 25, 18, 9, 3})
		if size > n-len(people) {
			size = n - len(people)
		}
		family := g.familyName()
		shared := g.mobile()
		province := g.residence()
		street := fmt.Sprintf("%d %s", 1+g.rng.IntN(400), streets[g.rng.IntN(len(streets))])
		var parent *Person
		for i := 0; i < size; i++ {
			p := &Person{ID: fmt.Sprintf("P%07d", len(people)+1), Household: household, ProvinceCode: province, Street: street}
			child := i >= 2 && parent != nil && g.rng.IntN(100) < 80
			g.fill(p, family, child, parent)
			switch {
			case child:
				p.Phone = parent.Phone
				p.OldPhone = parent.OldPhone
			case i == 0 || g.rng.IntN(100) < 40:
				p.Phone = shared
			default:
				p.Phone = g.mobile()
			}
			if g.rng.IntN(100) < 8 {
				p.OldPhone = oldForm(p.Phone)
			}
			if !g.uniqueWeak(p) {
				g.renameUntilUnique(p)
			}
			if i == 0 {
				parent = p
			}
			p.District, p.Ward = g.place(province)
			p.BluezoneID = fmt.Sprintf("%06X", g.rng.IntN(1<<24))
			p.AccountID = fmt.Sprintf("u_%07d", len(people)+1)
			people = append(people, p)
		}
	}
	return people
}

// fill draws the person's name, birth, gender and document.
func (g *peopleGen) fill(p *Person, family string, child bool, parent *Person) {
	if !child && g.rng.IntN(1000) < 12 {
		g.fillForeigner(p)
		return
	}
	p.Nationality = "VN"
	p.Gender = canonical.GenderMale
	if g.rng.IntN(2) == 0 {
		p.Gender = canonical.GenderFemale
	}
	year := g.epoch.Year()
	if child {
		p.Guardian = parent.ID
		year -= 1 + g.rng.IntN(13) // 1..13 years old: no CCCD before 14
	} else {
		year -= 18 + g.pick([]int{30, 30, 20, 12, 6, 2})*10 + g.rng.IntN(10)
	}
	p.BirthDate = g.birthDate(year)
	if !child && g.rng.IntN(100) < 35 {
		// Married women and others often carry another family name than the household's.
		family = g.familyName()
	}
	p.FullName = g.vietName(family, p.Gender)
	p.BirthProvince = p.ProvinceCode
	if g.rng.IntN(100) < 45 {
		p.BirthProvince = provinces2021[g.rng.IntN(len(provinces2021))].code
	}
	if child {
		return
	}
	switch r := g.rng.IntN(100); {
	case r < 68:
		p.Document = canonical.Document{Type: canonical.DocumentCCCD, Number: g.cccd(p.BirthProvince, p.BirthDate.Year, p.Gender)}
		if g.rng.IntN(100) < 30 {
			p.FormerCMND = g.cmnd()
		}
	case r < 94:
		p.Document = canonical.Document{Type: canonical.DocumentCMND, Number: g.cmnd()}
	default:
		// An adult who never typed a document anywhere: identified only weakly.
	}
}

func (g *peopleGen) fillForeigner(p *Person) {
	f := foreigners[g.rng.IntN(len(foreigners))]
	p.Nationality = f.nationality
	p.FullName = f.names[g.rng.IntN(len(f.names))]
	p.Gender = canonical.GenderMale
	if g.rng.IntN(2) == 0 {
		p.Gender = canonical.GenderFemale
	}
	p.BirthDate = g.birthDate(g.epoch.Year() - 22 - g.rng.IntN(45))
	for {
		n := fmt.Sprintf("%s%08d", f.passport, g.rng.IntN(100000000))
		if !g.serials[n] {
			g.serials[n] = true
			p.Document = canonical.Document{Type: canonical.DocumentPassport, Number: n}
			return
		}
	}
}

func (g *peopleGen) birthDate(year int) canonical.BirthDate {
	day := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.rng.IntN(365))
	return canonical.BirthDate{Year: day.Year(), Month: int(day.Month()), Day: day.Day(), Precision: canonical.PrecisionDay}
}

// cccd draws a 12-digit CCCD consistent with its holder: PPP G YY NNNNNN (domain.md).
func (g *peopleGen) cccd(provinceCode string, year int, gender canonical.Gender) string {
	for {
		n := cccdPrefix(provinceCode, year, gender) + fmt.Sprintf("%06d", g.rng.IntN(1000000))
		if !g.serials[n] {
			g.serials[n] = true
			return n
		}
	}
}

// cccdPrefix is the first six digits of a CCCD: province, century-and-gender, year.
func cccdPrefix(provinceCode string, year int, gender canonical.Gender) string {
	century := (year/100 - 19) * 2
	if gender == canonical.GenderFemale {
		century++
	}
	return fmt.Sprintf("0%s%d%02d", provinceCode, century, year%100)
}

func (g *peopleGen) cmnd() string {
	for {
		n := fmt.Sprintf("%09d", 20000000+g.rng.IntN(380000000))
		if !g.serials[n] {
			g.serials[n] = true
			return n
		}
	}
}

// mobile draws a new, unused Vietnamese mobile number in E.164.
func (g *peopleGen) mobile() string {
	for {
		n := fmt.Sprintf("+84%s%07d", mobilePrefixes[g.rng.IntN(len(mobilePrefixes))], g.rng.IntN(10000000))
		if !g.serials[n] {
			g.serials[n] = true
			return n
		}
	}
}

// oldForm is the 11-digit national form a converted number had before 2018, or "" when the
// number's prefix was never converted.
func oldForm(e164 string) string {
	national := strings.TrimPrefix(e164, "+84")
	old, ok := oldMobilePrefixes[national[:2]]
	if !ok {
		return ""
	}
	return "0" + old + national[2:]
}

func (g *peopleGen) familyName() string {
	n := g.rng.IntN(g.familyW)
	for _, f := range familyNames {
		if n < f.weight {
			return f.value
		}
		n -= f.weight
	}
	return familyNames[0].value
}

func (g *peopleGen) vietName(family string, gender canonical.Gender) string {
	middle, given := middleMale, givenMale
	if gender == canonical.GenderFemale {
		middle, given = middleFemale, givenFemale
	}
	name := family + " " + middle[g.rng.IntN(len(middle))]
	if g.rng.IntN(100) < 12 {
		name += " " + middle[g.rng.IntN(len(middle))]
	}
	return name + " " + given[g.rng.IntN(len(given))]
}

func (g *peopleGen) residence() string {
	total := 0
	for _, p := range provinces2021 {
		total += weightOf(p.code)
	}
	n := g.rng.IntN(total)
	for _, p := range provinces2021 {
		if n < weightOf(p.code) {
			return p.code
		}
		n -= weightOf(p.code)
	}
	return "79"
}

func weightOf(code string) int {
	if w, ok := residenceWeights[code]; ok {
		return w
	}
	return 1
}

func (g *peopleGen) place(code string) (district, ward string) {
	if ds, ok := districts[code]; ok {
		district = ds[g.rng.IntN(len(ds))]
	} else {
		district = genericDistricts[g.rng.IntN(len(genericDistricts))]
	}
	return district, wards[g.rng.IntN(len(wards))]
}

// uniqueWeak records the person's weak identity (phone, folded name, birth year) and reports
// whether it was new: two people sharing one would be one weak identity.
func (g *peopleGen) uniqueWeak(p *Person) bool {
	k := weakKey(p.Phone, foldName(p.FullName), p.BirthDate.Year)
	if g.weakKeys[k] {
		return false
	}
	g.weakKeys[k] = true
	return true
}

func (g *peopleGen) renameUntilUnique(p *Person) {
	family := strings.Fields(p.FullName)[0]
	for !g.uniqueWeak(p) {
		p.FullName = g.vietName(family, p.Gender)
	}
}

// pick returns an index drawn with the given relative weights.
func (g *peopleGen) pick(weights []int) int {
	return pickWeighted(g.rng, weights)
}

func pickWeighted(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func weakKey(phone, nameKey string, year int) string {
	return fmt.Sprintf("weak:%s|%s|%d", phone, nameKey, year)
}
