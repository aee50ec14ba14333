package sim

import (
	"testing"
	"time"
)

// FuzzGenerate: any small configuration (negative correction shares and oversized batches
// included) generates without panicking, and its ground truth's counts add up to the records
// generated.
func FuzzGenerate(f *testing.F) {
	f.Add(int64(1), uint16(50), uint16(120), uint8(13), false)
	f.Add(int64(2), uint16(1), uint16(1), uint8(0), true)       // one person, one declaration
	f.Add(int64(3), uint16(400), uint16(10), uint8(255), true)  // more people than declarations, a quarter wrong
	f.Add(int64(-9), uint16(7), uint16(900), uint8(100), false) // few people declaring often
	f.Fuzz(func(t *testing.T, seed int64, people, declarations uint16, wrongPermille uint8, registry bool) {
		cfg := Config{Seed: seed, People: int(people%600) + 1, Declarations: int(declarations%1500) + 1,
			WrongShare: float64(wrongPermille) / 1000, Registry: registry, Epoch: time.Date(2021, 8, 16, 0, 0, 0, 0, time.UTC),
			Corrections: float64(int(wrongPermille)%7-2) / 10, BatchSize: int(people % 1200)}
		if cfg.WrongShare == 0 {
			cfg.WrongShare = -1
		}
		pop := Generate(cfg)
		if len(pop.Records) != cfg.Declarations {
			t.Fatalf("%d records, want %d", len(pop.Records), cfg.Declarations)
		}
		for _, b := range pop.Batches() {
			if len(b.Records) > 1000 {
				t.Fatalf("batch of %d items", len(b.Records))
			}
		}
		s := pop.GroundTruth().Summary
		wantRejected := int(float64(cfg.Declarations)*max(cfg.WrongShare, 0) + 0.5)
		if s.Total.Accepted+s.Total.Rejected != s.Total.Versions || s.Total.Rejected != wantRejected || s.AmbiguousWeakKeys != 0 {
			t.Fatalf("summary %+v", s.Total)
		}
	})
}

// FuzzDecodeCursor: a cursor from a client never panics the feed, and every cursor the feed
// gives reads back as its offset.
func FuzzDecodeCursor(f *testing.F) {
	f.Add("")
	f.Add(encodeCursor(100)) // the example in partner-formats.md: eyJvIjoxMDB9
	f.Add("eyJvIjotMX0")     // {"o":-1}
	f.Add("not base64!")
	f.Add("e30") // {}
	f.Fuzz(func(t *testing.T, s string) {
		off, err := decodeCursor(s)
		if err != nil {
			return
		}
		if off < 0 {
			t.Fatalf("negative offset %d from %q", off, s)
		}
		if back, err := decodeCursor(encodeCursor(off)); err != nil || back != off {
			t.Fatalf("offset %d round-trips to %d, %v", off, back, err)
		}
	})
}
