package identity_test

import (
	"fmt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
)

func ExampleDeriver_Derive() {
	d, err := identity.NewDeriver([]byte("the deployment's identity secret, 32+ bytes"))
	if err != nil {
		panic(err)
	}
	// An already-normalized person, as canonical.Normalize leaves it.
	p := canonical.Person{
		NameKey:    "nguyen van an",
		BirthDate:  canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear},
		Document:   canonical.Document{Type: canonical.DocumentCCCD, Number: "079090001234"},
		FormerCMND: "023456789",
		Phone:      "+84912345678",
	}
	der, ok := d.Derive(p)
	fmt.Println(ok, der.Key, der.Verified, len(der.QRID), len(der.Aliases))
	for _, k := range identity.AliasKeys(p) {
		fmt.Println("alias", k)
	}
	// Output:
	// true cccd:079090001234 true 24 2
	// alias cmnd:023456789
	// alias weak:+84912345678|nguyen van an|1990
}
