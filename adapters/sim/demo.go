package sim

import (
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/canonical/qr"
)

// DemoRole names a person the demo shows at a checkpoint.
type DemoRole string

// The demo roles: one person of each status a checkpoint meets.
const (
	DemoClear        DemoRole = "clear"        // recent declarations, no symptoms: CLEAR
	DemoScreen       DemoRole = "screen"       // declared symptoms: SCREEN
	DemoStale        DemoRole = "stale"        // newest declaration 4–6 days old: STALE
	DemoWeak         DemoRole = "unverified"   // no document anywhere: a weak, unverified identity
	DemoInconsistent DemoRole = "inconsistent" // another phone on one platform: CLEAR but flagged
)

var demoRoles = []DemoRole{DemoClear, DemoScreen, DemoStale, DemoWeak, DemoInconsistent}

// chooseDemo picks the first person fit for each demo role. Demo people carry no faults and
// only the differences their role asks for.
func (b *builder) chooseDemo() {
	b.pop.demo = map[DemoRole]*Person{}
	taken := map[int]bool{}
	fits := map[DemoRole]func(p *Person) bool{
		DemoClear:        func(p *Person) bool { return p.hasCCCD() && len(p.Platforms) >= 2 },
		DemoScreen:       func(p *Person) bool { return p.hasCCCD() },
		DemoStale:        func(p *Person) bool { return p.hasCCCD() },
		DemoWeak:         func(p *Person) bool { return p.Document.Type == canonical.DocumentNone && p.Nationality == "VN" },
		DemoInconsistent: func(p *Person) bool { return p.Document.Type == canonical.DocumentCMND && len(p.Platforms) >= 2 },
	}
	for _, role := range demoRoles {
		for _, p := range b.pop.People {
			// One demo person per household, so that their weak keys and phones stay apart.
			if p.IsChild() || taken[p.Household] || !fits[role](p) {
				continue
			}
			taken[p.Household] = true
			b.pop.demo[role] = p
			p.demo = role
			break
		}
	}
}

// demoRole returns the person's demo role, or "".
func (p *Population) demoRole(person *Person) DemoRole {
	if person == nil {
		return ""
	}
	return person.demo
}

// DemoQR is a QR string a citizen may show at a checkpoint, with what the gateway must answer.
type DemoQR struct {
	Type           string       `json:"type"` // "demo_qr"
	Role           DemoRole     `json:"role"`
	PersonID       string       `json:"person_id"`
	IdentityKey    string       `json:"identity_key"` // the demo derives the QR id with the deployment secret
	Key            identity.Key `json:"-"`            // the same key, for identity.Deriver.QRID
	Status         string       `json:"status"`       // CLEAR, SCREEN or STALE at the epoch
	Verified       bool         `json:"verified"`
	Inconsistent   bool         `json:"inconsistent"`
	Personal1405   string       `json:"personal_1405"`       // decision 1405's personal QR, QID empty (see Personal1405)
	ChipCard       string       `json:"chip_card,omitempty"` // the chip ID card's QR (CCCD holders)
	FullName       string       `json:"full_name"`
	BirthYear      int          `json:"birth_year"`
	MaskedDocument string       `json:"masked_document,omitempty"`
}

// DemoQRs returns a QR of each form for each demo role, with the expected answer.
func (p *Population) DemoQRs() []DemoQR {
	if p.demoQRs != nil {
		return p.demoQRs
	}
	gt := p.GroundTruth()
	byPerson := map[string]TruthPerson{}
	for _, tp := range gt.People {
		byPerson[tp.PersonID] = tp
	}
	identities := map[string]TruthIdentity{}
	for _, id := range gt.Identities {
		identities[id.Key] = id
	}
	out := []DemoQR{}
	for _, role := range demoRoles {
		person := p.demo[role]
		if person == nil {
			continue
		}
		tp, ok := byPerson[person.ID]
		if !ok || len(tp.IdentityKeys) == 0 {
			continue
		}
		id := identities[tp.IdentityKeys[0]]
		q := DemoQR{Type: "demo_qr", Role: role, PersonID: person.ID, IdentityKey: id.Key, Status: id.Status,
			Verified: id.Verified, Inconsistent: len(id.Inconsistencies) > 0, FullName: person.FullName, BirthYear: person.BirthDate.Year}
		for _, r := range p.Records {
			if r.PersonID == person.ID && r.Fault == "" {
				if k, ok := identity.KeyOf(r.Intended.Person); ok && k.String() == id.Key {
					q.Key = k
					break
				}
			}
		}
		doc := person.Document.Number
		if doc != "" {
			q.MaskedDocument = "******" + doc[min(6, len(doc)):]
		}
		q.Personal1405 = Personal1405(person, "")
		if person.hasCCCD() {
			q.ChipCard = ChipCard(person)
		}
		out = append(out, q)
	}
	p.demoQRs = out
	return out
}

// Personal1405 is the person's unified personal QR of decision 1405/QĐ-BTTTT
// (SoGiayTo|HoTen|NgaySinh|LoaiDinhDanh|QID|EXT, the document's first six characters
// masked), written by canonical/qr. qid is the QID field: the gateway's QR id for the person
// (which the demo derives from the identity key with the deployment secret), or "".
func Personal1405(p *Person, qid string) string {
	return qr.FormatPersonal1405(qr.Scan{
		Document:  canonical.Document{Type: p.Document.Type, Number: qr.MaskDocumentNumber(p.Document.Number)},
		FullName:  p.FullName,
		BirthDate: p.BirthDate,
		Gender:    p.Gender,
		OnBehalf:  p.IsChild(),
		QID:       qid,
		Phone:     p.Phone,
	})
}

// ChipCard is the QR printed on the person's chip ID card:
// soCCCD|soCMNDcu|hoTen|ngaySinh(ddMMyyyy)|gioiTinh|diaChi|ngayCap(ddMMyyyy).
func ChipCard(p *Person) string {
	gender := "Nam"
	if p.Gender == canonical.GenderFemale {
		gender = "Nữ"
	}
	// Chip cards were first issued in 2021; the month is drawn from the birth date so that
	// the same person always gets the same card.
	issued := fmt.Sprintf("%02d%02d%04d", 1+p.BirthDate.Day%28, 1+p.BirthDate.Month%7, 2021)
	address := fmt.Sprintf("%s, %s, %s, %s", p.Street, p.Ward, p.District, provinceByCode(p.ProvinceCode).name)
	return strings.Join([]string{p.Document.Number, p.FormerCMND, p.FullName,
		fmt.Sprintf("%02d%02d%04d", p.BirthDate.Day, p.BirthDate.Month, p.BirthDate.Year), gender, address, issued}, "|")
}
