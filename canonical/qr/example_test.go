package qr_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/canonical/qr"
)

func ExampleParse() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // from the key store in real use
	signer, err := qr.NewSigner("k2026-11", priv)
	if err != nil {
		panic(err)
	}
	issued := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	code := signer.Sign(qr.Token{QRID: "xzygqzidkw2763cic3toezf4", IssuedAt: issued, ExpiresAt: issued.Add(72 * time.Hour)})
	keys := qr.Keys{signer.KeyID(): signer.PublicKey()}

	for _, s := range []string{
		code,
		"******001234|NGUYEN VAN AN|1990-**-**|0|QID-00123|1;0912345678",
		"079090001234|023456789|Nguyễn Văn An|17051990|Nam|TP Hồ Chí Minh|01082021",
		"xzygqzidkw2763cic3toezf4",
	} {
		sc, err := qr.Parse(s, keys, issued.Add(time.Hour))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s qrid=%q doc=%s:%s name=%q born=%s\n", sc.Form, sc.QRID, sc.Document.Type, sc.Document.Number, sc.FullName, sc.BirthDate)
	}
	_, err = qr.Parse(code, keys, issued.Add(73*time.Hour))
	fmt.Println(err)
	fmt.Println(len(code))
	// Output:
	// signed qrid="xzygqzidkw2763cic3toezf4" doc=none: name="" born=
	// personal1405 qrid="" doc=cccd:******001234 name="NGUYEN VAN AN" born=1990
	// chipcard qrid="" doc=cccd:079090001234 name="Nguyễn Văn An" born=1990-05-17
	// qrid qrid="xzygqzidkw2763cic3toezf4" doc=none: name="" born=
	// qr.Verify: invalid: QR code has expired: expired at 2026-11-30T08:00:00Z; ask for a new one
	// 132
}
