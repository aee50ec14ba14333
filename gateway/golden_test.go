package gateway_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestLookupGolden pins what a checkpoint receives for each kind of person, field for field
// (testdata/lookup.golden.json; `go test -run TestLookupGolden -update` rewrites it). The
// world is deterministic: a fixed identity secret, an injected clock; signed QRs, whose keys
// are random, are not in it.
func TestLookupGolden(t *testing.T) {
	w := newLookupWorld(t)
	people := []struct{ name, qr string }{
		{"an_clear_two_platforms", chipCardQR(an)},
		{"binh_screen_symptom", chipCardQR(binh)},
		{"chi_screen_exposure_inconsistent", w.h.qridOf(chi)},
		{"cuong_stale_unverified", w.cuongQR},
		{"dung_none", chipCardQR(dung)},
	}
	var out bytes.Buffer
	out.WriteString("{\n")
	for i, p := range people {
		raw, err := protojson.Marshal(lookup(t, w.h, p.qr))
		if err != nil {
			t.Fatal(err)
		}
		// protojson's spacing is deliberately unstable; indent it ourselves.
		var buf bytes.Buffer
		if err := json.Indent(&buf, compact(t, raw), "  ", "  "); err != nil {
			t.Fatal(err)
		}
		name, _ := json.Marshal(p.name)
		out.WriteString("  " + string(name) + ": " + buf.String())
		if i < len(people)-1 {
			out.WriteString(",")
		}
		out.WriteString("\n")
	}
	out.WriteString("}\n")
	path := filepath.Join("testdata", "lookup.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("lookup answers differ from %s (run with -update if the change is intended):\n%s", path, out.String())
	}
}

func compact(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
