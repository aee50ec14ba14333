package main

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestQRByRecordID: a partner that knows only its own declaration id gets the person's
// signed QR with --record-id; naming the person twice, or not at all, is a usage error.
func TestQRByRecordID(t *testing.T) {
	addr := startTestGateway(t, testCredentials())
	report := filepath.Join(t.TempDir(), "report.csv")
	mustRun(t, 0, "import", "--addr", addr, "--token", tokTokhaiyte, "--platform", "tokhaiyte", "--report", report, "--report-all", writeExport(t))
	var qrid string
	for _, r := range readCSV(t, report)[1:] {
		if r[2] == "TKYT-T-0001" {
			qrid = r[4]
		}
	}
	if qrid == "" {
		t.Fatal("TKYT-T-0001 not accepted")
	}

	out, _ := mustRun(t, 0, "qr", "--addr", addr, "--token", tokTokhaiyte, "-o", "json", "--record-id", "TKYT-T-0001")
	var resp lienthongv1.GetSignedQRResponse
	if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if resp.GetQrId() != qrid || resp.GetSignedQr() == "" {
		t.Errorf("qr_id %q signed %q, want %s", resp.GetQrId(), resp.GetSignedQr(), qrid)
	}

	for _, tc := range []struct {
		name string
		code int
		args []string
		says string
	}{
		// Another platform's partner does not know Tokhaiyte's record ids.
		{"another platform's record id", 1, []string{"--token", tokBluezone, "--record-id", "TKYT-T-0001"}, "NotFound"},
		{"unknown subject id", 1, []string{"--token", tokTokhaiyte, "--subject-id", "nobody"}, "NotFound"},
		{"a QR id and a record id", 2, []string{"--token", tokTokhaiyte, "--record-id", "TKYT-T-0001", qrid}, "exactly once"},
		{"a record id and a subject id", 2, []string{"--token", tokTokhaiyte, "--record-id", "TKYT-T-0001", "--subject-id", "x"}, "exactly once"},
		{"nothing", 2, []string{"--token", tokTokhaiyte}, "exactly once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut := mustRun(t, tc.code, append([]string{"qr", "--addr", addr}, tc.args...)...)
			if !strings.Contains(errOut, tc.says) {
				t.Errorf("stderr %q does not say %q", errOut, tc.says)
			}
		})
	}
}
