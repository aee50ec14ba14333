package sim

import (
	"bytes"
	"strings"
	"testing"
)

func TestReadGroundTruthRoundTrips(t *testing.T) {
	pop := Generate(Config{Seed: 17, People: 300, Declarations: 800, WrongShare: 0.05, ResendShare: 0.5, BatchSize: 50})
	gt, demo, err := ReadGroundTruth(bytes.NewReader(truthBytes(t, pop)))
	if err != nil {
		t.Fatal(err)
	}
	// Written again, what was read is the same file.
	var again bytes.Buffer
	if err := writeTruth(&again, gt, demo); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), truthBytes(t, pop)) {
		t.Error("the ground truth read back writes a different file")
	}
	for i, q := range demo {
		if q.Key != pop.DemoQRs()[i].Key {
			t.Errorf("demo %s: key %v, want %v", q.Role, q.Key, pop.DemoQRs()[i].Key)
		}
	}
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"not JSON", "{\n"},
		{"unknown type", `{"type":"mystery"}` + "\n"},
		{"no summary", `{"type":"person","person_id":"P1"}` + "\n"},
	} {
		if _, _, err := ReadGroundTruth(strings.NewReader(tc.in)); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
