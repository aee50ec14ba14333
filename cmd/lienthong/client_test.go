package main

import (
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/lienthong/lienthong/gateway/auth"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// writeExport writes a small tokhaiyte export: three people declared an hour ago, a row with
// a column missing (line 4), and a row whose record id is a spreadsheet formula and whose
// birth year is not a year (line 6).
func writeExport(t *testing.T) string {
	t.Helper()
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	lines := []string{
		tokhaiyteHeader,
		tokhaiyteRow("TKYT-T-0001", "NGUYỄN VĂN AN", 1990, "Nam", "079090001234", "0912345678", "Không", at),
		tokhaiyteRow("TKYT-T-0002", "TRẦN THỊ BÌNH", 1985, "Nữ", "079185004321", "0987654321", "Có", at),
		"TKYT-T-0003,0,LÊ VĂN CƯỜNG,1970,Nam,Việt Nam,,Hà Nội,,,,0911111111,,,Không,,2,2,2",
		tokhaiyteRow("TKYT-T-0004", "PHẠM THU DUNG", 2001, "Nữ", "001301009999", "0922222222", "Không", at),
		strings.Replace(tokhaiyteRow("=cmd|' /C calc'!A0", "HOÀNG VĂN EM", 1999, "Nam", "", "0933333333", "Không", at), ",1999,", ",19x9,", 1),
	}
	path := filepath.Join(t.TempDir(), "khai-bao.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestClientAgainstGateway runs the operator's subcommands against one real gateway, in the
// order an operator would: import, look up, issue a QR, audit.
func TestClientAgainstGateway(t *testing.T) {
	addr := startTestGateway(t, testCredentials())
	export := writeExport(t)
	report := filepath.Join(t.TempDir(), "report.csv")
	var qrid string

	t.Run("import counts and reports the rejected rows with their file lines", func(t *testing.T) {
		// Chunks of 2 rows: the malformed rows are in chunks 2 and 3, so their line numbers
		// must be mapped back from the chunk to the file.
		out, _ := mustRun(t, 0, "import", "--addr", addr, "--token", tokTokhaiyte, "--platform", "tokhaiyte",
			"--chunk", "2", "--report", report, "--report-all", export)
		if !strings.Contains(out, "5 records in 3 chunks: accepted 3, duplicate 0, rejected 2") {
			t.Fatalf("summary: %q", out)
		}
		rows := readCSV(t, report)
		if got := strings.Join(rows[0], ","); got != strings.Join(importReportHeader, ",") {
			t.Fatalf("header %q", got)
		}
		byLine := map[string][]string{}
		for _, r := range rows[1:] {
			byLine[r[0]] = r
		}
		if r := byLine["4"]; r == nil || r[2] != "TKYT-T-0003" || r[3] != "rejected" || !strings.Contains(r[5], "malformed_row") || !strings.Contains(r[7], "line 4:") {
			t.Errorf("line 4 (a column missing): %q", r)
		}
		// The formula in the record id is neutralized in the report too.
		if r := byLine["6"]; r == nil || r[2] != "'=cmd|' /C calc'!A0" || r[3] != "rejected" {
			t.Errorf("line 6 (formula id, bad year): %q", r)
		}
		if r := byLine["2"]; r == nil || r[3] != "accepted" || r[4] == "" {
			t.Fatalf("line 2: %q", r)
		}
		qrid = byLine["2"][4]
	})

	t.Run("rerunning skips every committed chunk", func(t *testing.T) {
		out, errOut := mustRun(t, 0, "import", "--addr", addr, "--token", tokTokhaiyte, "--platform", "tokhaiyte", "--chunk", "2", export)
		if !strings.Contains(out, "accepted 3, duplicate 0, rejected 2") || !strings.Contains(out, "3 chunks committed by an earlier run skipped") {
			t.Errorf("stdout %q", out)
		}
		if !strings.Contains(errOut, "delete that file to import again") {
			t.Errorf("stderr %q", errOut)
		}
	})

	t.Run("resume sends only the chunks not committed", func(t *testing.T) {
		// As if the first run had died after committing chunks 1 and 3: only chunk 2 is
		// sent again, and the gateway answers its accepted row as a duplicate.
		statePath := export + ".import-state"
		var st importState
		b, _ := os.ReadFile(statePath)
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		delete(st.Committed, "1")
		if err := st.save(statePath); err != nil {
			t.Fatal(err)
		}
		out, _ := mustRun(t, 0, "import", "--addr", addr, "--token", tokTokhaiyte, "--platform", "tokhaiyte", "--chunk", "2", export)
		if !strings.Contains(out, "accepted 2, duplicate 1, rejected 2") || !strings.Contains(out, "2 chunks committed by an earlier run skipped") {
			t.Errorf("stdout %q", out)
		}
	})

	t.Run("a changed chunk size does not reuse the state", func(t *testing.T) {
		_, errOut := mustRun(t, 1, "import", "--addr", addr, "--token", tokTokhaiyte, "--platform", "tokhaiyte", "--chunk", "3", export)
		if !strings.Contains(errOut, "belongs to another import") {
			t.Errorf("stderr %q", errOut)
		}
	})

	t.Run("lookup by QR id shows the status and the person", func(t *testing.T) {
		out, _ := mustRun(t, 0, "lookup", "--addr", addr, "--token", tokCheckpoint, qrid)
		for _, want := range []string{"Status:", "CLEAR", "NGUYỄN VĂN AN", "born 1990", "CCCD ********1234", "tokhaiyte TKYT-T-0001", "Valid until:"} {
			if !strings.Contains(out, want) {
				t.Errorf("lookup output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("lookup -o json is protojson", func(t *testing.T) {
		out, _ := mustRun(t, 0, "lookup", "--addr", addr, "--token", tokCheckpoint, "-o", "json", qrid)
		var resp lienthongv1.LookupResponse
		if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if resp.GetStatus() != lienthongv1.Status_STATUS_CLEAR || resp.GetQrId() != qrid {
			t.Errorf("status %v qr id %q", resp.GetStatus(), resp.GetQrId())
		}
	})

	t.Run("lookup of an unknown person is answered, status none", func(t *testing.T) {
		out, _ := mustRun(t, 0, "lookup", "--addr", addr, "--token", tokCheckpoint, strings.Repeat("a", 24))
		if !strings.Contains(out, "NONE") {
			t.Errorf("%s", out)
		}
	})

	t.Run("lookup of a malformed QR prints the field violation", func(t *testing.T) {
		_, errOut := mustRun(t, 1, "lookup", "--addr", addr, "--token", tokCheckpoint, "not a QR at all")
		if !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, `field "qr": malformed`) {
			t.Errorf("stderr %q", errOut)
		}
	})

	t.Run("lookup with a partner token is refused with a hint", func(t *testing.T) {
		_, errOut := mustRun(t, 1, "lookup", "--addr", addr, "--token", tokTokhaiyte, qrid)
		if !strings.Contains(errOut, "PermissionDenied") || !strings.Contains(errOut, "checkpoint for lookup") {
			t.Errorf("stderr %q", errOut)
		}
	})

	t.Run("qr --png writes a scannable image whose QR looks the person up", func(t *testing.T) {
		pngPath := filepath.Join(t.TempDir(), "an.png")
		out, _ := mustRun(t, 0, "qr", "--addr", addr, "--token", tokTokhaiyte, "--png", pngPath, "-o", "json", qrid)
		var resp lienthongv1.GetSignedQRResponse
		if err := protojson.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		f, err := os.Open(pngPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() < minPNGSize || b.Dy() < minPNGSize {
			t.Errorf("image %v, want at least %d px", b, minPNGSize)
		}
		look, _ := mustRun(t, 0, "lookup", "--addr", addr, "--token", tokCheckpoint, resp.GetSignedQr())
		if !strings.Contains(look, qrid) || !strings.Contains(look, "signed") {
			t.Errorf("lookup of the signed QR:\n%s", look)
		}
	})

	t.Run("qr of a person another platform does not know is not found", func(t *testing.T) {
		_, errOut := mustRun(t, 1, "qr", "--addr", addr, "--token", tokBluezone, qrid)
		if !strings.Contains(errOut, "NotFound") {
			t.Errorf("stderr %q", errOut)
		}
	})

	t.Run("audit rejections -o csv neutralizes formulas", func(t *testing.T) {
		out, _ := mustRun(t, 0, "audit", "rejections", "--addr", addr, "--token", tokMinistry, "-o", "csv", "--all", "--page-size", "1")
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// --all with one row per page follows the tokens through both rejections.
		if len(rows) != 3 {
			t.Fatalf("%d rows, want header + 2:\n%s", len(rows), out)
		}
		found := false
		for _, r := range rows[1:] {
			for _, cell := range r {
				if strings.HasPrefix(cell, "=") {
					t.Errorf("cell %q can run as a formula", cell)
				}
				found = found || cell == "'=cmd|' /C calc'!A0"
			}
		}
		if !found {
			t.Errorf("the formula record id is missing:\n%s", out)
		}
	})

	t.Run("audit history needs a reason and is then logged", func(t *testing.T) {
		mustRun(t, 2, "audit", "history", "--addr", addr, "--token", tokMinistry, qrid)
		out, _ := mustRun(t, 0, "audit", "history", "--addr", addr, "--token", tokMinistry, "--reason", "case 2021/0815", qrid)
		if !strings.Contains(out, "TKYT-T-0001") || !strings.Contains(out, "NGUYỄN VĂN AN") {
			t.Errorf("history:\n%s", out)
		}
		log, _ := mustRun(t, 0, "audit", "access-log", "--addr", addr, "--token", tokMinistry, "--qr-id", qrid, "-o", "csv")
		if !strings.Contains(log, "history,"+qrid+",case 2021/0815") || !strings.Contains(log, "auditor-test,ministry") {
			t.Errorf("access log:\n%s", log)
		}
	})

	t.Run("audit stats counts the import", func(t *testing.T) {
		out, _ := mustRun(t, 0, "audit", "stats", "--addr", addr, "--token", tokMinistry, "--platform", "tokhaiyte")
		if !strings.Contains(out, "Declarations") || !strings.Contains(out, "accepted") || !strings.Contains(out, "malformed_row") {
			t.Errorf("stats:\n%s", out)
		}
	})

	t.Run("audit inconsistencies answers a table", func(t *testing.T) {
		out, _ := mustRun(t, 0, "audit", "inconsistencies", "--addr", addr, "--token", tokMinistry, "--field", "phone")
		if !strings.HasPrefix(out, "QR ID") {
			t.Errorf("%q", out)
		}
	})

	t.Run("keys list and rotate", func(t *testing.T) {
		out, _ := mustRun(t, 0, "keys", "list", "--addr", addr)
		if n := strings.Count(out, "\n"); n != 2 {
			t.Errorf("want the header and one key:\n%s", out)
		}
		_, errOut := mustRun(t, 1, "keys", "rotate", "--addr", addr, "--token", tokCheckpoint)
		if !strings.Contains(errOut, "PermissionDenied") {
			t.Errorf("%s", errOut)
		}
		out, _ = mustRun(t, 0, "keys", "rotate", "--addr", addr, "--token", tokMinistry, "--reason", "test")
		if !strings.Contains(out, "New signing key:") || strings.Count(out, "\n") != 5 {
			t.Errorf("want the new key and both keys:\n%s", out)
		}
	})

	t.Run("a wrong token is refused with what to do", func(t *testing.T) {
		_, errOut := mustRun(t, 1, "audit", "stats", "--addr", addr, "--token", "not-a-configured-token")
		if !strings.Contains(errOut, "Unauthenticated") || !strings.Contains(errOut, "lienthong token create") {
			t.Errorf("stderr %q", errOut)
		}
	})
}

func TestTokenCreateConfiguresAPrincipal(t *testing.T) {
	out, errOut := mustRun(t, 0, "token", "create", "--role", "checkpoint", "--id", "tram-cau-rong", "--station", "QL1A-KM1234", "--province", "79", "--district", "760")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the token and the credential line:\n%s", out)
	}
	token := lines[0]
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Errorf("token %q: want 32 bytes in unpadded base64url", token)
	}
	if !strings.Contains(errOut, "not stored anywhere") {
		t.Errorf("stderr %q", errOut)
	}
	var cred auth.Credential
	dec := json.NewDecoder(strings.NewReader(lines[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cred); err != nil {
		t.Fatalf("credential line %q: %v", lines[1], err)
	}
	if cred.TokenSHA256 != auth.HashToken(token) || cred.Station != "QL1A-KM1234" || cred.Area.District != "760" {
		t.Errorf("credential %+v", cred)
	}
	addr := startTestGateway(t, []auth.Credential{cred})
	// The checkpoint may read its area's statistics, and no one else's.
	mustRun(t, 0, "audit", "stats", "--addr", addr, "--token", token)
	_, errOut = mustRun(t, 1, "audit", "rejections", "--addr", addr, "--token", token)
	if !strings.Contains(errOut, "PermissionDenied") {
		t.Errorf("stderr %q", errOut)
	}

	// Two tokens are never the same.
	again, _ := mustRun(t, 0, "token", "create", "--role", "ministry", "--id", "x")
	if strings.SplitN(again, "\n", 2)[0] == token {
		t.Error("the same token twice")
	}
}

func TestGatewayDownSaysWhatToDo(t *testing.T) {
	addr := closedAddr(t)
	for _, args := range [][]string{
		{"lookup", "--addr", addr, "--token", "x", strings.Repeat("a", 24)},
		{"keys", "list", "--addr", addr},
		{"audit", "stats", "--addr", addr, "--token", "x"},
		{"import", "--addr", addr, "--token", "x", "--platform", "tokhaiyte", "--quiet", writeExport(t)},
	} {
		t.Run(args[0], func(t *testing.T) {
			_, errOut := mustRun(t, 1, args...)
			if !strings.Contains(errOut, "Unavailable") || !strings.Contains(errOut, "is the gateway running at "+addr+"? start it with `lienthong serve`") {
				t.Errorf("stderr %q", errOut)
			}
		})
	}
}

// TestEnvironmentDefaults: LIENTHONG_ADDR and LIENTHONG_TOKEN stand in for --addr and
// --token, and the flags win over them.
func TestEnvironmentDefaults(t *testing.T) {
	addr := startTestGateway(t, testCredentials())
	t.Setenv("LIENTHONG_ADDR", addr)
	t.Setenv("LIENTHONG_TOKEN", tokMinistry)
	mustRun(t, 0, "audit", "stats")
	_, errOut := mustRun(t, 1, "audit", "stats", "--token", tokCheckpoint+"-wrong")
	if !strings.Contains(errOut, "refused the token") {
		t.Errorf("stderr %q", errOut)
	}
	down := closedAddr(t)
	t.Setenv("LIENTHONG_ADDR", down)
	_, errOut = mustRun(t, 1, "keys", "list")
	if !strings.Contains(errOut, "is the gateway running at "+down) {
		t.Errorf("stderr %q", errOut)
	}
}
