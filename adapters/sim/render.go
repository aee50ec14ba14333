package sim

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/lienthong/lienthong/canonical"
)

// profile is how one person appears on one platform: every declaration they make there is
// typed the same way (one phone, one name spelling, one province spelling).
type profile struct {
	name         string // the name as the platform holds it, before styling
	nameStyle    int
	phone        string // E.164 on this platform
	phoneTyped   string
	province     string // 2021 code declared
	provinceText string // as typed (NCOVI, tokhaiyte)
	birth        canonical.BirthDate
	gender       canonical.Gender
	document     bool // the declarations carry the person's document
	docTyped     string
	nationality  string // as typed
	email        string
	insurance    string
	variant      string // the deliberate cross-platform difference this profile carries

	typed, normalized, nameKey string // the styled name and its normalized form and key, once computed
}

// typedName returns the name as this platform holds it, styled, computing it (and its
// normalized form and match key) once per profile.
func (pr *profile) typedName() string {
	if pr.typed == "" {
		pr.typed = styleName(pr.name, pr.nameStyle)
		pr.normalized = canonical.NormalizeText(pr.typed)
		pr.nameKey = foldName(pr.normalized)
	}
	return pr.typed
}

// The deliberate cross-platform differences. Some are inconsistencies a ministry must see;
// others only look like one and must fold equal.
const (
	variantPhone          = "phone"           // another phone: an inconsistency (and a weak identity that does not merge)
	variantProvinceMoved  = "province"        // another province with another 2025 successor: an inconsistency
	variantProvinceMerged = "province_merged" // another 2021 code with the same 2025 successor: NOT an inconsistency
	variantBirthYear      = "birth_year"      // a typo in the birth year: an inconsistency
	variantBirthDay       = "birth_day"       // another day of birth, same year: an inconsistency when both are day-precise
	variantGender         = "gender"          // a mis-tapped gender: an inconsistency
	variantName           = "name"            // another given name: an inconsistency
	variantTone           = "tone"            // old/new tone placement (Hoà/Hòa): NOT an inconsistency
)

// Name styles.
const (
	styleAsIs = iota
	styleNFD
	styleLower
	styleUpper        // capitals with diacritics, as tokhaiyte's form asked
	styleUpperNoMarks // NCOVI's export: "NGUYEN VAN AN"
	styleSpaced       // stray spaces around and inside
)

func (b *builder) profiles() {
	b.profile = map[profileKey]*profile{}
	for _, p := range b.pop.People {
		for _, pl := range p.Platforms {
			b.profile[profileKey{p.ID, pl}] = b.baseProfile(p, pl)
		}
		if len(p.Platforms) >= 2 {
			b.vary(p)
		}
	}
}

func (b *builder) baseProfile(p *Person, pl canonical.Platform) *profile {
	r := b.rng
	pr := &profile{name: p.FullName, phone: p.Phone, province: p.ProvinceCode, birth: p.BirthDate, gender: p.Gender, nationality: p.Nationality}
	switch pl {
	case canonical.PlatformBluezone:
		pr.nameStyle = []int{styleAsIs, styleNFD, styleLower}[pickWeighted(r, []int{85, 10, 5})]
		if r.IntN(100) < 30 {
			pr.birth = yearOnly(p.BirthDate)
		}
		pr.document = true
	case canonical.PlatformNCOVI:
		pr.nameStyle = []int{styleUpperNoMarks, styleAsIs, styleNFD}[pickWeighted(r, []int{50, 40, 10})]
		if r.IntN(100) < 15 {
			pr.birth = yearOnly(p.BirthDate)
		}
		pr.document = true
	case canonical.PlatformTokhaiyte:
		pr.nameStyle = []int{styleUpper, styleUpperNoMarks, styleNFD, styleSpaced}[pickWeighted(r, []int{55, 20, 15, 10})]
		pr.birth = yearOnly(p.BirthDate)
		pr.document = r.IntN(100) < 45
		pr.nationality = b.countryName(p.Nationality)
	}
	if p.demo != "" {
		pr.document = true // a demo person is one identity on every platform
	}
	if p.Document.Type == canonical.DocumentNone {
		pr.document = false
	}
	if pr.document {
		pr.docTyped = p.Document.Number
		if p.Document.Type == canonical.DocumentCCCD && r.IntN(100) < 5 {
			n := p.Document.Number
			pr.docTyped = n[:3] + " " + n[3:6] + " " + n[6:]
		}
	}
	pr.phoneTyped = b.typePhone(p, pl, pr.phone)
	pr.provinceText = b.spellProvince(pr.province)
	if !p.IsChild() {
		if r.IntN(100) < 20 {
			pr.email = fmt.Sprintf("%s%d@gmail.com", strings.ReplaceAll(foldName(p.FullName), " ", "."), p.BirthDate.Year)
		}
		if pl != canonical.PlatformTokhaiyte && r.IntN(100) < 50 {
			pr.insurance = fmt.Sprintf("%s%08d", p.ProvinceCode, r.IntN(100000000))
		}
	}
	return pr
}

func yearOnly(d canonical.BirthDate) canonical.BirthDate {
	return canonical.BirthDate{Year: d.Year, Precision: canonical.PrecisionYear}
}

func (b *builder) countryName(iso string) string {
	if iso == "VN" {
		return []string{"Việt Nam", "Viet Nam"}[b.rng.IntN(2)]
	}
	for _, f := range foreigners {
		if f.nationality == iso {
			return f.countryVI
		}
	}
	return iso
}

// typePhone writes an E.164 number as this person types it on this platform.
func (b *builder) typePhone(p *Person, pl canonical.Platform, e164 string) string {
	national := "0" + strings.TrimPrefix(e164, "+84")
	if e164 == p.Phone && p.OldPhone != "" && b.rng.IntN(100) < 60 {
		return p.OldPhone
	}
	weights := map[canonical.Platform][]int{
		canonical.PlatformBluezone:  {60, 10, 5, 15, 5, 5, 2},
		canonical.PlatformNCOVI:     {15, 5, 5, 65, 5, 5, 2},
		canonical.PlatformTokhaiyte: {45, 25, 20, 5, 5, 0, 3},
	}[pl]
	n := national
	switch pickWeighted(b.rng, weights) {
	case 1:
		return n[:4] + " " + n[4:7] + " " + n[7:]
	case 2:
		return n[:4] + "." + n[4:7] + "." + n[7:]
	case 3:
		return e164
	case 4:
		return strings.TrimPrefix(e164, "+")
	case 5:
		return "+84 " + n[1:4] + " " + n[4:7] + " " + n[7:]
	case 6:
		return "(+84) " + n[1:4] + "-" + n[4:7] + "-" + n[7:]
	}
	return n
}

// spellProvince picks one of the spellings real exports contain for the province.
func (b *builder) spellProvince(code string) string {
	official := provinceByCode(code).name
	bare := bareProvince(official)
	options := []string{official, bare, stripMarks(bare), strings.ToLower(stripMarks(bare)), nfd(official)}
	weights := []int{45, 25, 10, 4, 4}
	if extra := provinceSpellings[code]; len(extra) > 0 {
		options = append(options, extra[b.rng.IntN(len(extra))])
		weights = append(weights, 20)
	}
	return options[pickWeighted(b.rng, weights)]
}

func provinceByCode(code string) province {
	for _, p := range provinces2021 {
		if p.code == code {
			return p
		}
	}
	return province{}
}

// vary gives a multi-platform person, sometimes, one deliberate difference on one platform.
func (b *builder) vary(p *Person) {
	odd := p.Platforms[b.rng.IntN(len(p.Platforms))]
	role := b.pop.demoRole(p)
	var variant string
	switch role {
	case DemoInconsistent:
		odd, variant = p.Platforms[len(p.Platforms)-1], variantPhone
	case "":
		variant = b.drawVariant(p)
	}
	if variant == "" {
		return
	}
	pr := b.profile[profileKey{p.ID, odd}]
	switch variant {
	case variantPhone:
		pr.phone = b.pg.mobile()
		pr.phoneTyped = b.typePhone(p, odd, pr.phone)
	case variantProvinceMoved:
		for pr.province == p.ProvinceCode || provinceByCode(pr.province).successor == provinceByCode(p.ProvinceCode).successor {
			pr.province = provinces2021[b.rng.IntN(len(provinces2021))].code
		}
		pr.provinceText = b.spellProvince(pr.province)
	case variantProvinceMerged:
		succ := provinceByCode(p.ProvinceCode).successor
		var alts []string
		for _, q := range provinces2021 {
			if q.successor == succ && q.code != p.ProvinceCode {
				alts = append(alts, q.code)
			}
		}
		if len(alts) == 0 {
			return
		}
		pr.province = alts[b.rng.IntN(len(alts))]
		pr.provinceText = b.spellProvince(pr.province)
	case variantBirthYear:
		pr.birth.Year += []int{-1, 1}[b.rng.IntN(2)]
	case variantBirthDay:
		others := 0
		for _, pl := range p.Platforms {
			if q := b.profile[profileKey{p.ID, pl}]; pl != odd && q.birth.Precision == canonical.PrecisionDay {
				others++
			}
		}
		if others == 0 || pr.birth.Precision != canonical.PrecisionDay {
			return
		}
		pr.birth.Day = 1 + (pr.birth.Day+9)%28
	case variantGender:
		pr.gender = canonical.GenderFemale + canonical.GenderMale - pr.gender
	case variantName:
		fields := strings.Fields(pr.name)
		given := givenMale
		if p.Gender == canonical.GenderFemale {
			given = givenFemale
		}
		last := fields[len(fields)-1]
		for foldName(fields[len(fields)-1]) == foldName(last) {
			fields[len(fields)-1] = given[b.rng.IntN(len(given))]
		}
		pr.name = strings.Join(fields, " ")
	case variantTone:
		fields := strings.Fields(pr.name)
		for i, f := range fields {
			if v, ok := toneVariants[f]; ok {
				fields[i] = v
			}
		}
		pr.name = strings.Join(fields, " ")
	}
	pr.variant = variant
}

// drawVariant picks the difference a person's platforms carry, if any. Differences in name,
// birth date and gender are given only to people without a CCCD: on a CCCD holder they would
// break the CCCD rules or the population register, which is a rejection, not an inconsistency.
func (b *builder) drawVariant(p *Person) string {
	n := b.rng.IntN(1000)
	switch {
	case n < 30:
		return variantPhone
	case n < 50:
		return variantProvinceMoved
	case n < 70:
		return variantProvinceMerged
	case n < 120:
		for _, f := range strings.Fields(p.FullName) {
			if _, ok := toneVariants[f]; ok {
				return variantTone
			}
		}
		return ""
	}
	if p.hasCCCD() || p.Document.Type == canonical.DocumentNone {
		return ""
	}
	switch {
	case n < 150:
		return variantBirthYear
	case n < 170:
		return variantBirthDay
	case n < 180:
		return variantGender
	case n < 200:
		return variantName
	}
	return ""
}

// render turns the planned slots into records: typed declarations and their intended
// normalized form.
func (b *builder) render() {
	counters := map[canonical.Platform]int{}
	year := b.pop.Config.Epoch.In(canonical.VietnamZone).Year()
	for _, s := range b.slots {
		p := s.person
		pr := b.profile[profileKey{p.ID, s.platform}]
		counters[s.platform]++
		n := counters[s.platform]
		r := &Record{Platform: s.platform, PersonID: p.ID, DeclarerID: p.ID, DeclaredAt: s.at, UpdatedAt: s.at, Version: "1", Variant: pr.variant}
		if p.IsChild() {
			r.DeclarerID = p.Guardian
		}
		switch s.platform {
		case canonical.PlatformBluezone:
			r.RecordID = fmt.Sprintf("BZ-%09d", n)
		case canonical.PlatformNCOVI:
			r.RecordID = fmt.Sprintf("nc_%010d", n)
			r.Version = canonical.VersionOf(s.at)
		case canonical.PlatformTokhaiyte:
			r.RecordID = fmt.Sprintf("TKYT-%d-%07d", year, n)
		}
		r.Typed = b.typed(p, pr, r)
		r.Intended = intended(p, pr, r)
		b.pop.Records = append(b.pop.Records, r)
	}
}

// typed builds the declaration as the platform holds it.
func (b *builder) typed(p *Person, pr *profile, r *Record) canonical.Declaration {
	d := canonical.Declaration{
		Source:     canonical.Source{Platform: r.Platform, RecordID: r.RecordID, Version: r.Version},
		OnBehalf:   p.IsChild(),
		DeclaredAt: r.DeclaredAt,
	}
	switch r.Platform {
	case canonical.PlatformBluezone:
		d.Source.SubjectID = b.pop.byPerson[r.DeclarerID].BluezoneID
	case canonical.PlatformNCOVI:
		d.Source.SubjectID = b.pop.byPerson[r.DeclarerID].AccountID
	}
	d.Person = canonical.Person{
		FullName:        pr.typedName(),
		BirthDate:       pr.birth,
		Gender:          pr.gender,
		Nationality:     pr.nationality,
		Phone:           pr.phoneTyped,
		Email:           pr.email,
		SocialInsurance: pr.insurance,
	}
	if pr.document {
		d.Person.Document = canonical.Document{Number: pr.docTyped}
	}
	d.Address = canonical.Address{Province: pr.provinceText, District: p.District, Ward: p.Ward, Street: p.Street}
	if r.Platform == canonical.PlatformBluezone {
		// Bluezone's form picks the district and ward from lists and sends their codes.
		d.Address = canonical.Address{Province: pr.province, ProvinceCode: pr.province, CodeSet: canonical.CodeSet2021,
			District: placeCode(pr.province+p.District, 1000, "%03d"), Ward: placeCode(pr.province+p.District+p.Ward, 100000, "%05d"), Street: p.Street}
	}
	d.Health = b.health(p, r.Platform)
	return d
}

// placeCode is a stable made-up code for a district or ward name (the real GSO lists are not
// part of the simulator): the same place always gets the same code.
func placeCode(name string, n uint32, format string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return fmt.Sprintf(format, h.Sum32()%n)
}

func styleName(name string, style int) string {
	switch style {
	case styleNFD:
		return nfd(name)
	case styleLower:
		return strings.ToLower(name)
	case styleUpper:
		return strings.ToUpper(name)
	case styleUpperNoMarks:
		return strings.ToUpper(stripMarks(name))
	case styleSpaced:
		return " " + strings.ReplaceAll(strings.ToUpper(name), " ", "  ") + " "
	}
	return name
}

// health draws what the person declared: mostly well, some with symptoms or an exposure.
func (b *builder) health(p *Person, pl canonical.Platform) canonical.Health {
	role := b.pop.demoRole(p)
	sick := b.rng.IntN(100) < 4
	exposed := b.rng.IntN(100) < 2
	switch role {
	case DemoScreen:
		sick = true
	case DemoClear, DemoStale, DemoWeak, DemoInconsistent:
		sick, exposed = false, false
	}
	var h canonical.Health
	if exposed {
		h.Exposures = []canonical.Exposure{canonical.Exposures[b.rng.IntN(len(canonical.Exposures))]}
	}
	if pl == canonical.PlatformTokhaiyte {
		h.Form = canonical.SymptomSingleQuestion
		h.HasSymptoms = sick
		if sick {
			h.SymptomNote = []string{"sốt nhẹ, ho khan", "đau họng", "mệt mỏi, sốt", "ho"}[b.rng.IntN(4)]
		}
		if b.rng.IntN(100) < 3 {
			h.PlacesNote = []string{"Bình Dương", "Đồng Nai", "Long An", "Hà Nội"}[b.rng.IntN(4)]
		}
		return h
	}
	if sick {
		// Symptoms that tokhaiyte's single question also covers, so a SCREEN person is
		// SCREEN on every platform.
		pool := []canonical.Symptom{canonical.SymptomFever, canonical.SymptomCough, canonical.SymptomShortnessOfBreath, canonical.SymptomSoreThroat, canonical.SymptomFatigue, canonical.SymptomPneumonia}
		for _, i := range b.rng.Perm(len(pool))[:1+b.rng.IntN(3)] {
			h.Symptoms = append(h.Symptoms, pool[i])
		}
		h.HasSymptoms = true
	}
	if pl == canonical.PlatformNCOVI && !p.IsChild() && b.rng.IntN(100) < 5 {
		h.Conditions = []string{[]string{"diabetes", "hypertension", "asthma"}[b.rng.IntN(3)]}
	}
	return h
}

// intended is what Normalize must make of a record's typed declaration, for the fields that
// identity and consistency depend on.
func intended(p *Person, pr *profile, r *Record) canonical.Declaration {
	d := r.Typed
	if d.Person.FullName == pr.typed {
		d.Person.FullName, d.Person.NameKey = pr.normalized, pr.nameKey
	} else {
		d.Person.FullName = canonical.NormalizeText(d.Person.FullName)
		d.Person.NameKey = foldName(d.Person.FullName)
	}
	d.Person.Nationality = p.Nationality
	d.Person.Phone = pr.phone
	d.Person.Document = canonical.Document{}
	if pr.document {
		d.Person.Document = p.Document
	}
	prov := provinceByCode(pr.province)
	d.Address.ProvinceCode = prov.code
	d.Address.CodeSet = canonical.CodeSet2021
	d.Address.Province2025 = prov.successor
	return d
}
