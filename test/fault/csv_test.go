package fault

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestAuditCSVNeutralizesFormulas sends declarations whose names, record ids and free text
// start like a spreadsheet formula (=, +, -, @) and reads them back with `lienthong audit history -o csv`
// and `lienthong audit rejections -o csv` as a ministry would: no cell may start a formula.
func TestAuditCSVNeutralizesFormulas(t *testing.T) {
	g := startGateway(t, gatewayOptions{name: "gw-csv", dataDir: t.TempDir()})
	tk := g.conns.Client(t, suite.PartnerToken("tokhaiyte"))
	formulas := []string{`=cmd|' /C calc'!A0`, `+HYPERLINK("http://evil.example","x")`, `-2+3`, `@SUM(A1:A9)`}
	now := time.Now()
	var decls []*lienthongv1.Declaration
	for i, f := range formulas {
		decls = append(decls, &lienthongv1.Declaration{
			Source: &lienthongv1.Source{Platform: "tokhaiyte", RecordId: f + " #" + string(rune('A'+i)), Version: "1"},
			Person: &lienthongv1.Person{FullName: f, Nationality: "VN", Phone: "0903111222",
				BirthDate: &lienthongv1.BirthDate{Year: 1995, Month: 3, Day: 2, Precision: lienthongv1.DatePrecision_DATE_PRECISION_DAY},
				Gender:    lienthongv1.Gender_GENDER_FEMALE,
				Document:  &lienthongv1.Document{Type: lienthongv1.DocumentType_DOCUMENT_TYPE_CCCD, Number: "001195012345"}},
			Address:    &lienthongv1.Address{ProvinceCode: "01", CodeSet: lienthongv1.CodeSet_CODE_SET_2021, Street: f},
			Health:     &lienthongv1.Health{Form: lienthongv1.SymptomForm_SYMPTOM_FORM_CHECKLIST, SymptomNote: f},
			DeclaredAt: timestamppb.New(now.Add(-time.Duration(i+1) * time.Minute)),
		})
	}
	// And one rejected for its formula-like name (if names refuse such text) or accepted.
	bad := &lienthongv1.Declaration{
		Source:     &lienthongv1.Source{Platform: "tokhaiyte", RecordId: "=1+1", Version: "1"},
		Person:     &lienthongv1.Person{FullName: `=cmd|' /C calc'!A0`, Phone: "12"},
		DeclaredAt: timestamppb.New(now.Add(-time.Minute)),
	}
	decls = append(decls, bad)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := tk.Ingest.SubmitDeclarations(ctx, &lienthongv1.SubmitDeclarationsRequest{Declarations: decls})
	if err != nil {
		t.Fatal(err)
	}
	qrid := ""
	for _, r := range resp.GetResults()[:len(formulas)] {
		if r.GetOutcome() != lienthongv1.Outcome_OUTCOME_ACCEPTED {
			t.Fatalf("declaration %s: %v %v", r.GetRecordId(), r.GetOutcome(), r.GetViolations())
		}
		qrid = r.GetQrId()
	}
	if o := resp.GetResults()[len(formulas)].GetOutcome(); o != lienthongv1.Outcome_OUTCOME_REJECTED {
		t.Fatalf("the bad record: %v, want rejected", o)
	}
	run := func(args ...string) [][]string {
		t.Helper()
		cmd := exec.Command(bins.Lienthong, append([]string{"audit"}, args...)...)
		cmd.Env = append(os.Environ(), "LIENTHONG_ADDR="+g.opts.grpcAddr, "LIENTHONG_TOKEN="+tokMinistry)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("lienthong audit %v: %v\n%s", args, err, errb.String())
		}
		rows, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("lienthong audit %v -o csv is not CSV: %v\n%s", args, err, out.String())
		}
		return rows
	}
	for _, args := range [][]string{
		{"history", "--reason", "case CSV-1", "-o", "csv", qrid},
		{"rejections", "-o", "csv"},
	} {
		rows := run(args...)
		seen := 0
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("audit %s: cell %q starts a formula", args[0], cell)
				}
				for _, f := range formulas {
					if strings.Contains(cell, f) {
						seen++
					}
				}
			}
		}
		t.Logf("audit %s -o csv: %d rows, %d cells carrying a formula-like text, all neutralized", args[0], len(rows), seen)
		if args[0] == "history" && seen == 0 {
			t.Errorf("audit history -o csv shows none of the formula-like texts: the test proves nothing")
		}
	}
}
