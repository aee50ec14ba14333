package tokhaiyte

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/lienthong/lienthong/adapters/internal/cputime"
	"github.com/lienthong/lienthong/adapters/internal/goldentest"
	"github.com/lienthong/lienthong/canonical"
)

// TestGolden decodes every testdata/<case>.csv export and compares the normalized
// declarations with <case>.golden.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, in := range goldentest.Inputs(t, ".csv") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			f, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			decls, err := DecodeCSV(f)
			if err != nil {
				t.Fatal(err)
			}
			goldentest.Check(t, in, decls)
			if filepath.Base(in) == "basic.csv" {
				goldentest.Valid(t, decls, time.Date(2021, 8, 16, 0, 0, 0, 0, time.UTC))
			}
		})
	}
}

// TestMalformedRows: each bad row of testdata/malformed.csv is rejected alone, with its line
// number, and the good rows around it are read.
func TestMalformedRows(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "malformed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	decls, err := DecodeCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line    int
		id      string
		reasons []canonical.Reason
		message string // in the first problem's message
	}{
		{2, "TKYT-2021-0000021", nil, ""},
		{3, "TKYT-2021-0000022", []canonical.Reason{canonical.ReasonMalformedRow}, "line 3: 19 columns, want 20"},
		{4, "TKYT-2021-0000023", []canonical.Reason{canonical.ReasonMalformedRow}, "line 4: 21 columns, want 20"},
		{5, "TKYT-2021-0000024", []canonical.Reason{canonical.ReasonMalformed}, "Thời gian khai báo"},
		{6, "TKYT-2021-0000025", []canonical.Reason{canonical.ReasonMalformed}, "Năm sinh"},
		// Three contact columns: "Có" instead of 1, 0, and empty.
		{7, "TKYT-2021-0000026", []canonical.Reason{canonical.ReasonMalformed, canonical.ReasonMalformed, canonical.ReasonMalformed}, "Tiếp xúc người bệnh"},
		{8, "TKYT-2021-0000027", []canonical.Reason{canonical.ReasonUnknownGender, canonical.ReasonMalformed}, "Giới tính"},
		// Khai hộ 2, and an RFC 3339 time where the export writes dd/mm/yyyy.
		{9, "TKYT-2021-0000028", []canonical.Reason{canonical.ReasonMalformed, canonical.ReasonMalformed}, "Khai hộ"},
		// A bare quote inside an unquoted field breaks RFC 4180: the row cannot be read at all.
		{10, "", []canonical.Reason{canonical.ReasonMalformedRow}, "line 10: broken CSV quoting"},
		{11, "", []canonical.Reason{canonical.ReasonRequired}, "Mã tờ khai"},
		{12, "TKYT-2021-0000031", nil, ""},
	}
	if len(decls) != len(want) {
		t.Fatalf("%d declarations, want %d", len(decls), len(want))
	}
	for i, w := range want {
		d := decls[i]
		var reasons []canonical.Reason
		for _, p := range d.Problems {
			reasons = append(reasons, p.Reason)
		}
		if d.Source.Line != w.line || d.Source.RecordID != w.id || !reflect.DeepEqual(reasons, w.reasons) {
			t.Errorf("row %d: line %d id %q reasons %v, want line %d id %q reasons %v", i, d.Source.Line, d.Source.RecordID, reasons, w.line, w.id, w.reasons)
		}
		if w.message != "" && (len(d.Problems) == 0 || !strings.Contains(d.Problems[0].Message, w.message)) {
			t.Errorf("row %d: problems %v, want a message with %q", i, d.Problems, w.message)
		}
	}
}

func TestDecodeRow(t *testing.T) {
	base := Row{
		MaToKhai: "TK-1", KhaiHo: "0", HoTen: "NGUYEN VAN AN", NamSinh: "1990", GioiTinh: "Nam", QuocTich: "Việt Nam",
		TinhThanh: "Hà Nội", DienThoai: "0912345678", CoTrieuChung: "Không",
		TiepXucNguoiBenh: "2", TiepXucNuocBenh: "2", TiepXucBieuHien: "2", ThoiGianKhaiBao: "15/08/2021 09:12:00",
	}
	nfd := "Nu\u031b\u0303" // "Nữ" decomposed
	tests := []struct {
		name     string
		edit     func(*Row)
		check    func(*testing.T, canonical.Declaration)
		problems []canonical.Reason
	}{
		{name: "source and time", edit: func(*Row) {}, check: func(t *testing.T, d canonical.Declaration) {
			if want := (canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: "TK-1", Version: "1"}); d.Source != want {
				t.Errorf("Source = %+v", d.Source)
			}
			// Vietnam time, UTC+7.
			if !d.DeclaredAt.Equal(time.Date(2021, 8, 15, 2, 12, 0, 0, time.UTC)) {
				t.Errorf("DeclaredAt = %v", d.DeclaredAt)
			}
			if d.Health.Form != canonical.SymptomSingleQuestion || d.Health.HasSymptoms || d.Health.Exposures != nil {
				t.Errorf("Health = %+v", d.Health)
			}
			if d.Person.BirthDate != (canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}) {
				t.Errorf("BirthDate = %+v", d.Person.BirthDate)
			}
		}},
		{name: "Nữ decomposed", edit: func(r *Row) { r.GioiTinh = nfd }, check: gender(canonical.GenderFemale)},
		{name: "Nu", edit: func(r *Row) { r.GioiTinh = "NU" }, check: gender(canonical.GenderFemale)},
		{name: "Khac", edit: func(r *Row) { r.GioiTinh = "khac" }, check: gender(canonical.GenderOther)},
		{name: "Khác", edit: func(r *Row) { r.GioiTinh = " Khác " }, check: gender(canonical.GenderOther)},
		{name: "Có", edit: func(r *Row) { r.CoTrieuChung = "Có" }, check: hasSymptoms(true)},
		{name: "CO", edit: func(r *Row) { r.CoTrieuChung = "CO" }, check: hasSymptoms(true)},
		{name: "Co decomposed", edit: func(r *Row) { r.CoTrieuChung = "Co\u0301" }, check: hasSymptoms(true)},
		{name: "khong", edit: func(r *Row) { r.CoTrieuChung = "khong" }, check: hasSymptoms(false)},
		{name: "contacts 1", edit: func(r *Row) { r.TiepXucNguoiBenh, r.TiepXucNuocBenh, r.TiepXucBieuHien = "1", "1", "1" },
			check: func(t *testing.T, d canonical.Declaration) {
				if !reflect.DeepEqual(d.Health.Exposures, canonical.Exposures) {
					t.Errorf("Exposures = %v", d.Health.Exposures)
				}
			}},
		{name: "on behalf", edit: func(r *Row) { r.KhaiHo = "1" }, check: func(t *testing.T, d canonical.Declaration) {
			if !d.OnBehalf {
				t.Error("OnBehalf = false")
			}
		}},
		// The form asked for the year only: a full date is not what the column holds.
		{name: "full date in Năm sinh", edit: func(r *Row) { r.NamSinh = "17/05/1990" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "empty symptom answer", edit: func(r *Row) { r.CoTrieuChung = "" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "contact yes as a word", edit: func(r *Row) { r.TiepXucBieuHien = "Có" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "unknown gender", edit: func(r *Row) { r.GioiTinh = "Male" }, problems: []canonical.Reason{canonical.ReasonUnknownGender}},
		{name: "time without seconds", edit: func(r *Row) { r.ThoiGianKhaiBao = "15/08/2021 09:12" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			d := DecodeRow(r)
			var got []canonical.Reason
			for _, p := range d.Problems {
				got = append(got, p.Reason)
			}
			if !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("problems = %v (%v), want %v", got, d.Problems, tt.problems)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func gender(g canonical.Gender) func(*testing.T, canonical.Declaration) {
	return func(t *testing.T, d canonical.Declaration) {
		if d.Person.Gender != g {
			t.Errorf("Gender = %v, want %v", d.Person.Gender, g)
		}
	}
}

func hasSymptoms(want bool) func(*testing.T, canonical.Declaration) {
	return func(t *testing.T, d canonical.Declaration) {
		if d.Health.HasSymptoms != want {
			t.Errorf("HasSymptoms = %v, want %v", d.Health.HasSymptoms, want)
		}
	}
}

// TestHeader: a file whose first row is not the export's header is refused whole.
func TestHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"empty body", "", true},
		{"header only", strings.Join(Header, ",") + "\r\n", true},
		// The header written in decomposed Unicode is the same header.
		{"NFD header", norm.NFD.String(strings.Join(Header, ",")) + "\n", true},
		{"columns swapped", strings.Join(append([]string{Header[1], Header[0]}, Header[2:]...), ",") + "\r\n", false},
		{"no header", "TKYT-1,0,A,1990,Nam,VN,,HN,,,,,,,Không,,2,2,2,15/08/2021 09:12:00\r\n", false},
		{"broken header", "\"Mã tờ khai\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeCSV(strings.NewReader(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("DecodeCSV = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrHeader) {
				t.Errorf("err = %v, want ErrHeader", err)
			}
		})
	}
}

// TestRoundTrip: rows written by WriteCSV (with and without BOM; quoting commas, quotes and
// line breaks) decode back to the same declarations, with their line numbers.
func TestRoundTrip(t *testing.T) {
	decls := []canonical.Declaration{{
		Source:   canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: "TK-1", Version: "1", Line: 2},
		OnBehalf: true,
		Person: canonical.Person{FullName: "NGUYỄN, \"AN\"", BirthDate: canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear},
			Gender: canonical.GenderFemale, Nationality: "Việt Nam", Document: canonical.Document{Number: "079090001234"},
			Phone: " 0912 345 678", Email: "a@b.vn"},
		Address: canonical.Address{Province: "TP HCM", District: "Q1", Ward: "P. Bến Nghé", Street: "12 Lê Lợi,\nlầu 2"},
		Health: canonical.Health{Form: canonical.SymptomSingleQuestion, HasSymptoms: true, SymptomNote: "ho, sốt",
			Exposures: []canonical.Exposure{canonical.ExposureContactWithCase, canonical.ExposureContactWithSymptomatic}, PlacesNote: "Đồng Nai"},
		DeclaredAt: time.Date(2021, 8, 15, 2, 12, 7, 0, time.UTC),
	}, {
		// The line after a field with a line break is one further down.
		Source: canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: "TK-2", Version: "1", Line: 4},
		Person: canonical.Person{FullName: "B"},
		Health: canonical.Health{Form: canonical.SymptomSingleQuestion},
	}}
	for _, bom := range []bool{false, true} {
		t.Run(fmt.Sprint("bom=", bom), func(t *testing.T) {
			var rows []Row
			for _, d := range decls {
				rows = append(rows, EncodeRow(d))
			}
			var buf bytes.Buffer
			if err := WriteCSV(&buf, rows, bom); err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(buf.Bytes(), []byte("\xef\xbb\xbf")) != bom {
				t.Errorf("BOM present = %v, want %v", !bom, bom)
			}
			if !strings.HasSuffix(buf.String(), "\r\n") || strings.Count(buf.String(), "\r\n") != strings.Count(buf.String(), "\n") {
				t.Errorf("line ends are not all CRLF: %q", buf.String())
			}
			got, err := DecodeCSV(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, decls) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, decls)
			}
		})
	}
}

// FuzzDecodeCSV: no input panics, and every declaration has a record id or a Problem.
func FuzzDecodeCSV(f *testing.F) {
	for _, in := range []string{"basic.csv", "bom_messy.csv", "malformed.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", in))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	head := strings.Join(Header, ",") + "\r\n"
	f.Add([]byte(head + "\r\n\r\n"))                    // blank lines
	f.Add([]byte(head + "\"unterminated,1\r\nx,y\r\n")) // a quote that never closes
	f.Add([]byte(head + ",,,,,,,,,,,,,,,,,,,\r\n"))     // twenty empty columns
	f.Add([]byte("\xef\xbb\xbf\xef\xbb\xbf" + head))    // two BOMs
	f.Add([]byte(head + "a\rb,c\r\n"))                  // a lone CR
	f.Fuzz(func(t *testing.T, data []byte) {
		decls, err := DecodeCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		last := 1
		for i, d := range decls {
			if d.Source.RecordID == "" && len(d.Problems) == 0 {
				t.Errorf("row %d has neither a record id nor a problem", i)
			}
			if d.Source.Line <= last {
				t.Errorf("row %d: line %d after line %d", i, d.Source.Line, last)
			}
			last = d.Source.Line
		}
	})
}

// BenchmarkDecodeCSV measures decoding an export of 10,000 rows (records/s is reported).
func BenchmarkDecodeCSV(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "basic.csv"))
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\r\n")
	head, rows := lines[0], lines[1:len(lines)-1]
	var buf strings.Builder
	buf.WriteString(head)
	const n = 10000
	for i := range n {
		buf.WriteString(rows[i%len(rows)])
	}
	body := []byte(buf.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Self()
	for b.Loop() {
		decls, err := DecodeCSV(bytes.NewReader(body))
		if err != nil || len(decls) != n {
			b.Fatal(len(decls), err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cputime.Report(b, cpu, n*b.N)
}
