package canonical

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// benchDeclarations is a realistic mix of raw declarations as adapters hand them over: names
// in upper case, mixed case and NFD; phones in old and new forms; provinces as codes and as
// names in various spellings; one in eight invalid in some way.
func benchDeclarations() []Declaration {
	names := []string{
		"Nguyễn Văn An", "NGUYEN THI BICH", norm.NFD.String("Trần Thị Hoà"), "lê   văn tám",
		norm.NFD.String("ĐẶNG QUỐC DŨNG"), "Phạm Minh Châu", "HOÀNG THỊ THUÝ", "Võ Văn Kiệt",
	}
	phones := []string{
		"0912345678", "+84 912 345 678", "84912345678", "01662345678", "0912.345.678",
		"(+84) 388 123 456", "02438251234", "+82 10 1234 5678",
	}
	provinces := []string{
		"Thành phố Hồ Chí Minh", "TP.HCM", "Hà Nội", norm.NFD.String("Tỉnh Hoà Bình"), "Dak Lak",
		"Thừa Thiên - Huế", "Tp. Cần Thơ", "Bac Can",
	}
	codes := []string{"", "79", "01", "", "46", "", "", ""}
	documents := []string{"079090001234", "025123456", "", "B1234567", "079 090 001 234", "001090123456", "", "025.123.456"}
	nationalities := []string{"VN", "Việt Nam", "Viet Nam", "vn", "VN", "Hàn Quốc", "VN", "VN"}
	declared := time.Date(2021, 8, 15, 2, 0, 0, 0, time.UTC)
	var out []Declaration
	for i := range 64 {
		d := Declaration{
			Source: Source{Platform: PlatformNCOVI, RecordID: fmt.Sprintf("nc_%010d", i)},
			Person: Person{
				FullName:    names[i%len(names)],
				BirthDate:   BirthDate{Year: 1990, Precision: PrecisionYear},
				Gender:      GenderMale,
				Nationality: nationalities[(i/3)%len(nationalities)],
				Document:    Document{Number: documents[(i/2)%len(documents)]},
				Phone:       phones[(i/5)%len(phones)],
				Email:       "An.Nguyen@Example.VN",
			},
			Address: Address{
				Province: provinces[(i/7)%len(provinces)], ProvinceCode: codes[i%len(codes)],
				District: "Quận 1", Ward: "Phường Bến Nghé", Street: "12 Lê Lợi",
			},
			Health: Health{
				Symptoms:  []Symptom{SymptomFever, SymptomCough, SymptomFever}[:i%4],
				Exposures: []Exposure{ExposureFromAffectedArea, ExposureContactWithCase}[:i%3],
			},
			DeclaredAt: declared.In(VietnamZone),
		}
		if i%8 == 7 { // one in eight breaks a rule, as real feeds do now and then
			switch (i / 8) % 5 {
			case 0:
				d.Person.Phone = "0123"
			case 1:
				d.Address.Province, d.Address.ProvinceCode = "Atlantis", ""
			case 2:
				d.Person.Document.Number = "079091001234" // year digits contradict 1990
			case 3:
				d.Person.Nationality = "Atlantis"
			case 4:
				d.Person.Document.Number = "12AB"
			}
		}
		out = append(out, d)
	}
	return out
}

func BenchmarkNormalizeValidate(b *testing.B) {
	decls := benchDeclarations()
	now := time.Date(2021, 8, 15, 3, 0, 0, 0, time.UTC)
	invalid := 0
	for _, d := range decls {
		if Validate(Normalize(d), now) != nil {
			invalid++
		}
	}
	if invalid != len(decls)/8 {
		b.Fatalf("%d of %d declarations in the mix are invalid, want one in eight", invalid, len(decls))
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	i := 0
	for b.Loop() {
		Validate(Normalize(decls[i%len(decls)]), now)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decl/s")
	// On a shared machine wall time overstates the cost; CPU time of the process (the
	// benchmark loop plus the garbage collector's share) is the figure to compare.
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/(float64(cpu)/1e9), "decl/cpu-s")
	}
}
