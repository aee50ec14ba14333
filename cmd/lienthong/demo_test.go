package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// The README's first command, small: the demo ingests a whole simulated population through
// the real gateway and its summary agrees with the simulator's ground truth.
func TestDemoOnceMatchesGroundTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole gateway and three partners")
	}
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"demo", "--once", "--declarations", "3000", "--seed", "11",
		"--data-dir", t.TempDir(), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, &stdout, &stderr)
	out := stdout.String()
	if code != exitOK {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	// "all  received accepted duplicate rejected expected-accepted expected-rejected"
	all := regexp.MustCompile(`(?m)^\s*all\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$`).FindStringSubmatch(out)
	if all == nil {
		t.Fatalf("no totals row in:\n%s", out)
	}
	if all[2] != all[5] || all[4] != all[6] {
		t.Errorf("accepted %s rejected %s, ground truth says %s and %s", all[2], all[4], all[5], all[6])
	}
	ids := regexp.MustCompile(`Identities: (\d+) \(expected (\d+)\)`).FindStringSubmatch(out)
	if ids == nil || ids[1] != ids[2] {
		t.Errorf("identities line %q: count differs from the ground truth", ids)
	}
	inc := regexp.MustCompile(`Inconsistent identities: (\d+) \(expected (\d+)\)`).FindStringSubmatch(out)
	if inc == nil || inc[1] != inc[2] {
		t.Errorf("inconsistencies line %q: count differs from the ground truth", inc)
	}
	// What to try next: one person of each kind, with lookups of each QR form.
	for _, role := range []string{"clear person", "screen person", "stale person", "unverified person", "inconsistent person"} {
		if !strings.Contains(out, role) {
			t.Errorf("no %q in the try-next section", role)
		}
	}
	if n := strings.Count(out, "lienthong lookup '"); n < 15 {
		t.Errorf("%d lookup commands printed, want at least 3 per person", n)
	}
}
