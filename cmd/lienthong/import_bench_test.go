package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchExport writes a tokhaiyte export of n distinct, valid people.
func benchExport(b *testing.B, prefix string, n int) (string, []byte) {
	b.Helper()
	at := time.Now().Add(-time.Hour)
	var sb strings.Builder
	sb.WriteString(tokhaiyteHeader + "\r\n")
	for i := range n {
		sb.WriteString(tokhaiyteRow(fmt.Sprintf("TKYT-%s-%07d", prefix, i), fmt.Sprintf("NGUYỄN VĂN %d", i), 1960+i%50, "Nam", "",
			fmt.Sprintf("09%08d", i), "Không", at))
		sb.WriteString("\r\n")
	}
	path := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path, []byte(sb.String())
}

// BenchmarkSplitTokhaiyteCSV cuts a 100,000-row export into 1,000-row chunks.
func BenchmarkSplitTokhaiyteCSV(b *testing.B) {
	_, data := benchExport(b, "S", 100000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := splitTokhaiyteCSV(data, chunkLimits{records: maxChunkRecords, bytes: maxChunkBytes}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportTokhaiyte imports a 5,000-row export end to end (split, gRPC, decode,
// validate, store on the embedded store) into one in-process gateway, new people each
// time; records/s is the figure to read.
func BenchmarkImportTokhaiyte(b *testing.B) {
	const rows = 5000
	addr := startTestGateway(b, testCredentials())
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		path, _ := benchExport(b, fmt.Sprintf("B%d", n), rows) // new people each time
		state := filepath.Join(b.TempDir(), "state")
		b.StartTimer()
		var out, errOut strings.Builder
		if code := dispatch([]string{"import", "--addr", addr, "--token", tokTokhaiyte, "--platform", "tokhaiyte", "--quiet", "--state", state, path}, &out, &errOut); code != 0 {
			b.Fatalf("exit %d: %s", code, errOut.String())
		}
		if !strings.Contains(out.String(), fmt.Sprintf("accepted %d", rows)) {
			b.Fatalf("%s", out.String())
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "records/s")
}
