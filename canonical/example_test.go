package canonical_test

import (
	"fmt"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

func ExampleFoldName() {
	fmt.Println(canonical.FoldName("Tỉnh Hoà Bình"))
	fmt.Println(canonical.FoldName("NGUYỄN  VĂN DŨNG"))
	// Output:
	// tinh hoa binh
	// nguyen van dung
}

func ExampleNormalizePhone() {
	for _, s := range []string{"0912.345.678", "(+84) 166 234 5678", "028 3829 5555", "+1 415 555 0123", "0123"} {
		fmt.Println(canonical.NormalizePhone(s))
	}
	// Output:
	// +84912345678 true
	// +84362345678 true
	// +842838295555 true
	// +14155550123 true
	//  false
}

func ExampleResolveProvince() {
	for _, s := range []string{"TP.HCM", "Bac Can", "Thành phố Huế", "1"} {
		p, ok := canonical.ResolveProvince(s)
		fmt.Println(p.Code, p.CodeSet, p.Successor, ok)
	}
	// Output:
	// 79 2021 79 true
	// 06 2021 19 true
	// 46 2025 46 true
	//    false
}

func ExampleValidate() {
	d := canonical.Normalize(canonical.Declaration{
		Source: canonical.Source{Platform: canonical.PlatformNCOVI, RecordID: "nc_1"},
		Person: canonical.Person{
			FullName:    "Nguyễn Văn An",
			BirthDate:   canonical.BirthDate{Year: 1991, Precision: canonical.PrecisionYear},
			Gender:      canonical.GenderMale,
			Nationality: "Việt Nam",
			Document:    canonical.Document{Number: "079 090 001 234"},
			Phone:       "0912 345 678",
		},
		Address:    canonical.Address{Province: "Sài Gòn"},
		DeclaredAt: time.Date(2021, 8, 15, 2, 0, 0, 0, time.UTC),
	})
	for _, v := range canonical.Validate(d, time.Date(2021, 8, 15, 3, 0, 0, 0, time.UTC)) {
		fmt.Println(v)
	}
	// Output:
	// person.document.number: cccd_birth_year: the CCCD's year digits contradict the birth year
}
