package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestGroundTruthGolden pins a tiny population's ground truth, so that a change in what the
// simulator generates (or in the canonical and identity rules it follows) shows in review.
// Refresh with: go test ./adapters/sim -run Golden -update
func TestGroundTruthGolden(t *testing.T) {
	pop := Generate(Config{Seed: 2021, People: 24, Declarations: 60, WrongShare: 0.1, Registry: true})
	got := truthBytes(t, pop)
	path := filepath.Join("testdata", "truth-tiny.golden.jsonl")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("ground truth differs from %s at line %d:\ngot  %s\nwant %s\n(run with -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}
