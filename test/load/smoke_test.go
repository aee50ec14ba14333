package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	// The harness re-runs its own binary as the echo server; under `go test` that binary is
	// this test binary.
	if code, ok := serveEchoIfAsked(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// smokeRounds is how many times echo and lookups take turns in TestSmoke.
const smokeRounds = 3

// TestSmoke runs the whole harness in smoke mode (a few seconds, ~2,000 identities, both
// stores, a 2,000-declaration demo) so that it cannot rot. It asserts no speed: only that
// every phase ran and the results file has every row.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway, Redis and the demo as processes")
	}
	for _, bin := range []string{"redis-server", "redis-cli", "redis-benchmark"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found on PATH; run test/run, which installs redis", bin)
		}
	}
	out := filepath.Join(t.TempDir(), "results.md")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--smoke", "--duration", "1s", "--rounds", strconv.Itoa(smokeRounds), "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("harness exited %d:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if stdout.String() != got {
		t.Errorf("the harness printed something other than its results file:\n%s", stdout.String())
	}
	rows := []string{
		"- Machine: ", "- Go: go", "- Load average",
		"| echo (gRPC health Check), embedded run |", "| lookup, embedded store |",
		"| echo (gRPC health Check), redis run |", "| lookup, redis store |", "| redis-benchmark GET -c 50 |",
		"| CPU: echo, embedded run |", "| CPU: lookup, embedded store |", "| CPU: echo, redis run |", "| CPU: lookup, redis store |",
		"| switches: echo, embedded run |", "| switches: lookup, embedded store |", "| switches: echo, redis run |", "| switches: lookup, redis store |",
		"| StreamDeclarations, canonical, 1,000 per message | embedded |", "| SubmitNativeRecords, tokhaiyte CSV, 1,000 per call | embedded |",
		"| StreamDeclarations, canonical, 1,000 per message | redis |", "| SubmitNativeRecords, tokhaiyte CSV, 1,000 per call | redis |",
		"| lienthong demo --once, simulated partners end to end |",
		"| embedded | ", "| redis | ",
		"| CPU: StreamDeclarations | embedded |", "| CPU: SubmitNativeRecords | redis |",
		"| StreamDeclarations, the same streams into a bare gRPC sink | none (before the embedded preload) |",
		"| StreamDeclarations, the same streams into a bare gRPC sink | none (before the redis preload) |",
		"| CPU: StreamDeclarations, bare gRPC sink | none (before the embedded preload) |",
		"| lookup embedded ≥ 0.8 × echo requests/s |", "| lookup embedded p99 ≤ 2 × echo p99 |", "| lookup Redis ≥ 0.6 × echo requests/s |",
		"| canonical ingest ≥ 20000/s, embedded |", "| canonical ingest ≥ 20000/s, redis |", "| demo end to end < 10s",
		"| Redis ≤ 1024 bytes per identity |",
	}
	for _, row := range rows {
		if !strings.Contains(got, row) {
			t.Errorf("results file has no row %q", row)
		}
	}
	// Every phase did work: lookup and echo rows count requests (column 6), ingest rows
	// declarations (column 3), and the servers of CPU and switches rows used some CPU and made
	// some context switches (column 3).
	for _, line := range strings.Split(got, "\n") {
		cells := strings.Split(line, "|")
		col := 0
		switch {
		case strings.HasPrefix(line, "| lookup, "), strings.HasPrefix(line, "| echo "), strings.HasPrefix(line, "| redis-benchmark"):
			col = 6
		case strings.HasPrefix(line, "| StreamDeclarations"), strings.HasPrefix(line, "| SubmitNativeRecords"), strings.HasPrefix(line, "| lienthong demo"),
			strings.HasPrefix(line, "| CPU: "), strings.HasPrefix(line, "| switches: "):
			col = 3
		default:
			continue
		}
		if len(cells) <= col || strings.TrimSpace(cells[col]) == "0" || strings.TrimSpace(cells[col]) == "0.0" || strings.TrimSpace(cells[col]) == "0.00" || strings.TrimSpace(cells[col]) == "" {
			t.Errorf("a phase did nothing: %s", line)
		}
		// Lookups and echo answered every request (a sample of lookups of preloaded QR ids is
		// decoded and must find its person: see checkFound).
		if col == 6 && len(cells) > 7 && strings.TrimSpace(cells[7]) != "0" {
			t.Errorf("requests failed: %s", line)
		}
	}
	// The sink counted every declaration the harness sent it; each store's ingest has its
	// baselines beside it: the sink's rate, and for the embedded store the disk's and the
	// gateway's bytes written per declaration.
	for _, line := range strings.Split(got, "\n") {
		cells := strings.Split(line, "|")
		switch {
		case strings.HasPrefix(line, "| StreamDeclarations, the same streams into a bare gRPC sink |"):
			if len(cells) < 5 || strings.TrimSpace(cells[3]) != strings.TrimSpace(cells[4]) {
				t.Errorf("the sink did not count every declaration sent: %s", line)
			}
		case strings.HasPrefix(line, "| embedded | "), strings.HasPrefix(line, "| redis | "):
			if len(cells) != 9 { // the memory and gateway process tables have other widths
				continue
			}
			kind := strings.TrimSpace(cells[1])
			for i, c := range cells[2:8] {
				c = strings.TrimSpace(c)
				if kind == "redis" && i >= 3 {
					if c != "n/a" {
						t.Errorf("redis: disk baseline column %d is %q, want n/a: %s", i+2, c, line)
					}
					continue
				}
				if v, err := strconv.ParseFloat(strings.TrimSuffix(c, " ×"), 64); err != nil || v <= 0 {
					t.Errorf("%s: ingest baseline column %d is %q, not a positive number: %s", kind, i+2, c, line)
				}
			}
		}
	}
	if !strings.Contains(got, "| canonical ingest ≥ 20000/s, embedded | ") || !strings.Contains(got, "the disk allows ") {
		t.Errorf("the embedded ingest target does not name its baselines")
	}
	// Each store's lookup rounds have their own ratio to their echo round, one per round.
	for _, kind := range []string{"embedded", "redis"} {
		_, after, ok := strings.Cut(got, "\n- "+kind+": ")
		line, _, _ := strings.Cut(after, "\n")
		ratios := strings.Split(line, ", ")
		if !ok || len(ratios) != smokeRounds {
			t.Errorf("%s: round ratios %q, want %d", kind, line, smokeRounds)
			continue
		}
		for _, r := range ratios {
			if v, err := strconv.ParseFloat(r, 64); err != nil || v <= 0 {
				t.Errorf("%s: round ratio %q is not a positive number", kind, r)
			}
		}
	}
	// Each lookup round has the machine's steal time beside it.
	_, steal, ok := strings.Cut(got, "steal time in each lookup round")
	for _, kind := range []string{"embedded", "redis"} {
		_, after, found := strings.Cut(steal, "\n- "+kind+": ")
		line, _, _ := strings.Cut(after, "\n")
		if !ok || !found || len(strings.Split(line, ", ")) != smokeRounds || !strings.HasSuffix(line, "%") {
			t.Errorf("%s: steal time per round %q, want %d percentages", kind, line, smokeRounds)
		}
	}
	if t.Failed() {
		t.Logf("results file:\n%s", got)
	}
}
