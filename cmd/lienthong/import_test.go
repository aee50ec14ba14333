package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
)

func ncoviItem(id, name, doc string, at time.Time) string {
	ts := at.Format(time.RFC3339)
	return fmt.Sprintf(`{"id":%q,"account_id":"u_%s","full_name":%q,"date_of_birth":"1990-05-17","gender":"male","nationality":"VN",`+
		`"identity_number":%q,"social_insurance_number":"","phone":"+84912345678","email":null,`+
		`"address":{"province":"Thành phố Hồ Chí Minh","district":"Quận 1","ward":"Phường Bến Nghé","street":"12 Lê Lợi"},`+
		`"symptoms":[],"exposures":{"contact_with_patient":false,"from_affected_area":false,"contact_with_symptomatic":false},`+
		`"underlying_conditions":[],"created_at":%q,"updated_at":%q}`, id, id, name, doc, ts, ts)
}

func bluezoneItem(id, name, doc string, at time.Time) string {
	return fmt.Sprintf(`{"DeclarationId":%q,"BluezoneId":"B%s","KhaiHo":false,"FullName":%q,"NgaySinh":"17/05/1990","NamSinh":"1990",`+
		`"MaGioiTinh":"1","MaQuocTich":"VN","SoGiayTo":%q,"MaBHXH":"","SoDienThoai":"0912345678","Email":"",`+
		`"DiaChiLienLac_VN_MaTinh":"79","DiaChiLienLac_VN_MaHuyen":"760","DiaChiLienLac_VN_MaPhuongXa":"26734","DiaChiLienLac_VN_ChiTiet":"12 Lê Lợi",`+
		`"TrieuChungBenh":[{"ID":"sot","Value":false}],"LichSuPhoiNhiem":[{"ID":"tiep_xuc_f0","Value":false}],"ThoiGianKhaiBao":%d}`,
		id, id, name, doc, at.UnixMilli())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportJSONExports imports the two JSON formats through a real gateway, in chunks
// smaller than the pages, and checks the report names records by their place in the file.
func TestImportJSONExports(t *testing.T) {
	addr := startTestGateway(t, testCredentials())
	at := time.Now().Add(-2 * time.Hour).Truncate(time.Second)

	t.Run("ncovi JSON lines", func(t *testing.T) {
		page1 := `{"data":[` + ncoviItem("nc_1", "NGUYEN VAN AN", "079090001234", at) + "," + ncoviItem("nc_2", "LE VAN BA", "079090005678", at) +
			"," + ncoviItem("nc_3", "", "079090009999", at) + `],"next_cursor":"c1","has_more":true}`
		page2 := `{"data":[` + ncoviItem("nc_4", "TRAN VAN CU", "079090002222", at) + `],"next_cursor":"c2","has_more":false}`
		file := writeFile(t, "ncovi.jsonl", page1+"\n"+page2+"\n")
		report := filepath.Join(t.TempDir(), "r.csv")
		// Page 1 is cut in two chunks of 2 and 1; page 2 is one more.
		out, _ := mustRun(t, 0, "import", "--addr", addr, "--token", tokNCOVI, "--platform", "ncovi", "--chunk", "2", "--report", report, file)
		if !strings.Contains(out, "4 records in 3 chunks: accepted 3, duplicate 0, rejected 1") {
			t.Fatalf("%s", out)
		}
		rows := readCSV(t, report)
		// The nameless record is the file's 3rd: it was the 1st of the 2nd chunk.
		if len(rows) != 2 || rows[1][1] != "3" || rows[1][2] != "nc_3" || !strings.Contains(rows[1][6], "person.full_name") {
			t.Errorf("report %q", rows)
		}
	})

	t.Run("bluezone batch", func(t *testing.T) {
		batch := `{"BatchId":"bz-1","Items":[` + bluezoneItem("BZ-1", "Nguyễn Văn An", "079090001234", at) + "," +
			bluezoneItem("BZ-2", "Lê Văn Ba", "079090005678", at) + "," + bluezoneItem("BZ-3", "Trần Văn Cư", "079090002222", at) + `]}`
		file := writeFile(t, "bluezone.json", batch)
		out, _ := mustRun(t, 0, "import", "--addr", addr, "--token", tokBluezone, "--platform", "bluezone", "--chunk", "2", file)
		if !strings.Contains(out, "3 records in 2 chunks: accepted 3, duplicate 0, rejected 0") {
			t.Fatalf("%s", out)
		}
	})

	t.Run("a file of another format stops at its first chunk", func(t *testing.T) {
		file := writeFile(t, "not.csv", "name,age\nAn,30\n")
		_, errOut := mustRun(t, 1, "import", "--addr", addr, "--token", tokTokhaiyte, "--platform", "tokhaiyte", file)
		if !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "header") || !strings.Contains(errOut, "0 of 1 chunks are committed") {
			t.Errorf("stderr %q", errOut)
		}
		if _, err := os.Stat(file + ".import-state"); err == nil {
			t.Error("a state file was written although nothing was committed")
		}
	})

	t.Run("another platform's token is refused", func(t *testing.T) {
		file := writeFile(t, "k.csv", tokhaiyteHeader+"\n"+tokhaiyteRow("TKYT-X-1", "AN", 1990, "Nam", "", "0912345678", "Không", at)+"\n")
		_, errOut := mustRun(t, 1, "import", "--addr", addr, "--token", tokNCOVI, "--platform", "tokhaiyte", file)
		if !strings.Contains(errOut, "PermissionDenied") {
			t.Errorf("stderr %q", errOut)
		}
	})

	t.Run("not JSON at all is refused before dialling", func(t *testing.T) {
		file := writeFile(t, "bad.json", `{"data": [`)
		_, errOut := mustRun(t, 1, "import", "--addr", closedAddr(t), "--token", tokNCOVI, "--platform", "ncovi", file)
		if !strings.Contains(errOut, "is not a ncovi export") {
			t.Errorf("stderr %q", errOut)
		}
	})
}

func TestImportProgressBar(t *testing.T) {
	addr := startTestGateway(t, testCredentials())
	at := time.Now().Add(-time.Hour)
	var lines []string
	lines = append(lines, tokhaiyteHeader)
	for i := range 5 {
		lines = append(lines, tokhaiyteRow(fmt.Sprintf("TKYT-P-%d", i), "AN", 1990, "Nam", "", "0912345678", "Không", at))
	}
	file := writeFile(t, "p.csv", strings.Join(lines, "\n")+"\n")
	for _, tt := range []struct {
		name     string
		terminal bool
		quiet    bool
		wantBar  bool
	}{
		{"terminal", true, false, true},
		{"not a terminal", false, false, false},
		{"quiet", true, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cf := clientFlags{addr: addr, token: tokTokhaiyte, timeout: 10 * time.Second}
			o := importOptions{platform: "tokhaiyte", file: file, statePath: filepath.Join(t.TempDir(), "state"), quiet: tt.quiet,
				chunkRecords: 2, progressIsTerminal: func(io.Writer) bool { return tt.terminal }}
			if code := o.run(&cf, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "importing tokhaiyte"); got != tt.wantBar {
				t.Errorf("bar shown %v, want %v: %q", got, tt.wantBar, stderr.String())
			}
			if tt.wantBar && !strings.Contains(stderr.String(), "5/5") {
				t.Errorf("the bar does not reach 5/5: %q", stderr.String())
			}
		})
	}
}

// TestImportRateLimitedThenResumed: a partner over its rate gets RESOURCE_EXHAUSTED with a
// RetryInfo; the import waits as told (on an injected sleep), gives up after --retries,
// keeps the chunk it committed, and a later run sends only the rest.
func TestImportRateLimitedThenResumed(t *testing.T) {
	addr := startTestGateway(t, testCredentials(), func(c *config.Config) {
		// One call now, the next in about 1,000 s: the second chunk is refused.
		c.Limits[auth.RolePartner] = config.Limit{Rate: 0.001, Burst: 1}
	})
	at := time.Now().Add(-time.Hour)
	lines := []string{tokhaiyteHeader}
	for i := range 4 {
		lines = append(lines, tokhaiyteRow(fmt.Sprintf("TKYT-R-%d", i), "AN", 1990, "Nam", "", "0912345678", "Không", at))
	}
	file := writeFile(t, "r.csv", strings.Join(lines, "\n")+"\n")
	var waits []time.Duration
	o := importOptions{platform: "tokhaiyte", file: file, statePath: file + ".import-state", chunkRecords: 2, retries: 2, quiet: true,
		sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	var stdout, stderr bytes.Buffer
	cf := clientFlags{addr: addr, token: tokTokhaiyte, timeout: 10 * time.Second}
	if code := o.run(&cf, &stdout, &stderr); code != exitFail {
		t.Fatalf("exit %d, want 1: %s", code, stderr.String())
	}
	if len(waits) != 2 || waits[0] < 100*time.Second {
		t.Errorf("waited %v: want 2 waits of the gateway's RetryInfo (about 1000s)", waits)
	}
	for _, want := range []string{"chunk 2 of 2 (records 3 to 4", "ResourceExhausted", "1 of 2 chunks are committed", "run the same command again"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	// A gateway with room again (a second one on the same data would do; here, a fresh
	// principal's bucket is simplest): the rerun sends chunk 2 only.
	addr2 := startTestGateway(t, testCredentials())
	out, _ := mustRun(t, 0, "import", "--addr", addr2, "--token", tokTokhaiyte, "--platform", "tokhaiyte", "--chunk", "2", file)
	if !strings.Contains(out, "4 records in 2 chunks: accepted 4, duplicate 0, rejected 0") || !strings.Contains(out, "1 chunk committed by an earlier run skipped") {
		t.Errorf("%s", out)
	}
}

// TestImportInterrupted: Ctrl-C (a cancelled context) stops the import with the way to go on,
// and commits nothing it was not told was stored.
func TestImportInterrupted(t *testing.T) {
	addr := startTestGateway(t, testCredentials())
	file := writeExport(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := importOptions{platform: "tokhaiyte", file: file, statePath: file + ".import-state", chunkRecords: 2, quiet: true, ctx: ctx}
	var stdout, stderr bytes.Buffer
	cf := clientFlags{addr: addr, token: tokTokhaiyte, timeout: 10 * time.Second}
	if code := o.run(&cf, &stdout, &stderr); code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"interrupted during chunk 1 of 3", "0 of 3 chunks are committed", "run the same command again"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if _, err := os.Stat(o.statePath); err == nil {
		t.Error("state written for an interrupted chunk")
	}
}
