package qr

import (
	"testing"
	"time"
)

func BenchmarkSign(b *testing.B) {
	s := testSigner(b, "k2026-11", 1)
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(token)
	}
}

func BenchmarkParse(b *testing.B) {
	s := testSigner(b, "k2026-11", 1)
	keys := Keys{"k2026-11": s.PublicKey()}
	now := issued.Add(time.Hour)
	for _, bm := range []struct{ name, in string }{
		{"signed", s.Sign(token)},
		{"personal1405", personal1405Cases[0].in},
		{"chipcard", chipCardCases[0].in},
		{"qrid", testQRID},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bm.in, keys, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
