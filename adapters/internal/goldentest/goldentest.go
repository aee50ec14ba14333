// Package goldentest compares decoded, normalized declarations with golden JSON files under
// testdata, for the adapters' round-trip tests; `go test -update` rewrites the files.
package goldentest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// Inputs lists testdata's input files with the given extension (".json", ".csv"), leaving out
// the golden files themselves.
func Inputs(t testing.TB, ext string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if !strings.HasSuffix(p, ".golden.json") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no testdata/*%s inputs", ext)
	}
	return out
}

// Check normalizes decls, checks that normalizing again changes nothing, and compares them as
// indented JSON with input's golden file (input without its extension + ".golden.json").
func Check(t *testing.T, input string, decls []canonical.Declaration) {
	t.Helper()
	norm := make([]canonical.Declaration, len(decls))
	for i, d := range decls {
		norm[i] = canonical.Normalize(d)
		if again := canonical.Normalize(norm[i]); !reflect.DeepEqual(again, norm[i]) {
			t.Errorf("declaration %d (%s): Normalize is not idempotent:\nonce:  %+v\ntwice: %+v", i, d.Source.RecordID, norm[i], again)
		}
	}
	got, err := json.MarshalIndent(norm, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := strings.TrimSuffix(input, filepath.Ext(input)) + ".golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the decoded declarations (run go test -update if the change is intended):\n%s", golden, diff(string(want), string(got)))
	}
}

// Valid checks that every declaration of decls, normalized, passes Validate at now: the
// partner's clean examples must be accepted.
func Valid(t *testing.T, decls []canonical.Declaration, now time.Time) {
	t.Helper()
	for i, d := range decls {
		if vs := canonical.Validate(canonical.Normalize(d), now); len(vs) > 0 {
			t.Errorf("declaration %d (%s) is rejected: %v", i, d.Source.RecordID, vs)
		}
	}
}

// diff shows the first lines where want and got differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
			if shown++; shown == 10 {
				break
			}
		}
	}
	return b.String()
}
