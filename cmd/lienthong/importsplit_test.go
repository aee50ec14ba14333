package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/adapters/tokhaiyte"
)

// decodedLines decodes a CSV export as the gateway does and returns each record's id and
// line, as the gateway would report them.
func decodedLines(t testing.TB, payload []byte, offset int) []string {
	decls, err := tokhaiyte.DecodeCSV(bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("DecodeCSV: %v", err)
	}
	out := make([]string, len(decls))
	for i, d := range decls {
		out[i] = fmt.Sprintf("%s@%d", d.Source.RecordID, d.Source.Line+offset)
	}
	return out
}

// checkSplit asserts the split's property: the chunks, decoded one by one, give the same
// records on the same file lines as the whole file decoded at once, and respect the limits.
func checkSplit(t testing.TB, data []byte, lim chunkLimits) []importChunk {
	chunks, err := splitTokhaiyteCSV(data, lim)
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	want := decodedLines(t, data, 0)
	var got []string
	next := 0
	for i, c := range chunks {
		if c.records < 1 || c.records > lim.records {
			t.Errorf("chunk %d holds %d records, limit %d", i, c.records, lim.records)
		}
		if c.firstIndex != next {
			t.Errorf("chunk %d starts at record %d, want %d", i, c.firstIndex, next)
		}
		next += c.records
		lines := decodedLines(t, c.payload, c.lineOffset)
		if len(lines) != c.records {
			t.Errorf("chunk %d decodes to %d records, says %d", i, len(lines), c.records)
		}
		got = append(got, lines...)
	}
	if len(want) == 0 && len(got) == 0 {
		return chunks
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks decode to\n%v\nthe file to\n%v", got, want)
	}
	return chunks
}

func TestSplitTokhaiyteCSV(t *testing.T) {
	row := func(id string) string {
		return "TKYT-" + id + ",0,NGUYEN VAN A,1990,Nam,Việt Nam,,Hà Nội,,,,0912345678,,,Không,,2,2,2,02/08/2021 08:00:00"
	}
	tests := []struct {
		name   string
		data   string
		lim    chunkLimits
		chunks int
	}{
		{"one chunk", tokhaiyteHeader + "\n" + row("1") + "\n" + row("2") + "\n", chunkLimits{1000, 1 << 20}, 1},
		{"split by rows", tokhaiyteHeader + "\r\n" + row("1") + "\r\n" + row("2") + "\r\n" + row("3") + "\r\n", chunkLimits{2, 1 << 20}, 2},
		// The byte-order mark is the file's, not each chunk's; lines still count from it.
		{"byte-order mark", "\uFEFF" + tokhaiyteHeader + "\n" + row("1") + "\n" + row("2"), chunkLimits{1, 1 << 20}, 2},
		// A quoted note spanning two lines is one row: the split must not cut it, and the
		// rows after it keep their file line numbers.
		{"quoted line break", tokhaiyteHeader + "\n" + row("1") + "\n" +
			strings.Replace(row("2"), ",Không,,", ",Có,\"sốt\nho\",", 1) + "\n" + row("3") + "\n", chunkLimits{1, 1 << 20}, 3},
		// A bare quote breaks only its own row, which travels alone to be rejected there.
		{"broken quoting", tokhaiyteHeader + "\n" + row("1") + "\n" + strings.Replace(row("2"), "NGUYEN VAN A", `NGUYEN "VAN" A`, 1) + "\n" + row("3") + "\n", chunkLimits{2, 1 << 20}, 2},
		// Blank lines are skipped by the reader but count as lines.
		{"blank lines", tokhaiyteHeader + "\n\n" + row("1") + "\n\n\n" + row("2") + "\n", chunkLimits{1, 1 << 20}, 2},
		{"short row", tokhaiyteHeader + "\n" + row("1") + "\nTKYT-2,0,X\n" + row("3") + "\n", chunkLimits{2, 1 << 20}, 2},
		{"header only", tokhaiyteHeader + "\n", chunkLimits{2, 1 << 20}, 0},
		// So small a byte limit that the blank-line padding does not fit: the offset is
		// reported instead, and a row larger than the limit still travels alone.
		{"byte limit", tokhaiyteHeader + "\n" + row("1") + "\n" + row("2") + "\n" + row("3") + "\n", chunkLimits{1000, len(tokhaiyteHeader) + 150}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := checkSplit(t, []byte(tt.data), tt.lim)
			if len(chunks) != tt.chunks {
				t.Errorf("%d chunks, want %d", len(chunks), tt.chunks)
			}
		})
	}
}

func TestSplitTokhaiyteCSVNotAnExport(t *testing.T) {
	for _, data := range []string{"", "\"unclosed\n"} {
		if _, err := splitTokhaiyteCSV([]byte(data), chunkLimits{10, 1 << 20}); err == nil {
			t.Errorf("%q: no error", data)
		}
	}
}

func FuzzSplitTokhaiyteCSV(f *testing.F) {
	row := "TKYT-1,0,NGUYEN VAN A,1990,Nam,Việt Nam,,Hà Nội,,,,0912345678,,,Không,,2,2,2,02/08/2021 08:00:00"
	f.Add(tokhaiyteHeader+"\n"+row+"\n"+row+"\n", 1)
	f.Add(tokhaiyteHeader+"\r\n"+row+"\r\n\r\n"+row, 2)
	f.Add(tokhaiyteHeader+"\n\"a\nb\","+row+"\n"+row+"\n", 1)
	f.Add(tokhaiyteHeader+"\na\"b,c\n\"d\"e\n"+row+"\n", 1)
	f.Add("\uFEFF"+tokhaiyteHeader+"\n\"", 3)
	f.Fuzz(func(t *testing.T, body string, per int) {
		if per < 1 || per > 50 {
			per = 1 + (per%50+50)%50
		}
		data := []byte(body)
		if !strings.HasPrefix(strings.TrimPrefix(body, "\uFEFF"), tokhaiyteHeader+"\n") &&
			!strings.HasPrefix(strings.TrimPrefix(body, "\uFEFF"), tokhaiyteHeader+"\r\n") {
			data = []byte(tokhaiyteHeader + "\n" + body)
		}
		if _, err := tokhaiyte.DecodeCSV(bytes.NewReader(data)); err != nil {
			return // not an export at all: the gateway refuses it whole
		}
		checkSplit(t, data, chunkLimits{records: per, bytes: 1 << 20})
	})
}

func TestSplitJSONPages(t *testing.T) {
	page := func(ids ...string) string {
		items := make([]string, len(ids))
		for i, id := range ids {
			items[i] = `{"id":"` + id + `"}`
		}
		return `{"data":[` + strings.Join(items, ",") + `],"next_cursor":"c","has_more":true}`
	}
	tests := []struct {
		name string
		data string
		want [][]string // the ids of each chunk
	}{
		{"one page", page("a", "b"), [][]string{{"a", "b"}}},
		{"array of pages", "[" + page("a") + "," + page("b", "c") + "]", [][]string{{"a"}, {"b", "c"}}},
		{"JSON lines", page("a") + "\n" + page("b") + "\n", [][]string{{"a"}, {"b"}}},
		// A page over the chunk size is cut into pages with the same other members.
		{"big page", page("a", "b", "c", "d", "e"), [][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		{"empty page", `{"data":null,"has_more":false}`, [][]string{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := splitJSONPages([]byte(tt.data), "data", chunkLimits{records: 2, bytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			index := 0
			for _, c := range chunks {
				var p struct {
					Data []struct {
						ID string `json:"id"`
					} `json:"data"`
					NextCursor string `json:"next_cursor"`
				}
				if err := json.Unmarshal(c.payload, &p); err != nil {
					t.Fatalf("chunk %s: %v", c.payload, err)
				}
				ids := []string{}
				for _, d := range p.Data {
					ids = append(ids, d.ID)
				}
				if len(ids) > 0 && p.NextCursor != "c" {
					t.Errorf("chunk %s lost the page's other members", c.payload)
				}
				if c.firstIndex != index || c.records != len(ids) {
					t.Errorf("chunk %s: firstIndex %d records %d, want %d %d", c.payload, c.firstIndex, c.records, index, len(ids))
				}
				index += len(ids)
				got = append(got, ids)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "{", "[1,2]", `{"data":{}}`} {
		if _, err := splitJSONPages([]byte(bad), "data", chunkLimits{2, 1 << 20}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzSplitJSONPages: whatever the file, the split never panics, and when it succeeds the
// chunks hold every item of the file, in order, each chunk within the record limit.
func FuzzSplitJSONPages(f *testing.F) {
	f.Add(`{"data":[{"id":"a"},{"id":"b"},{"id":"c"}],"next_cursor":"x"}`, 2)
	f.Add(`[{"data":[1,2]},{"data":[]},{"data":null}]`, 1)
	f.Add("{\"data\":[1]}\n{\"data\":[2,3,4]}\n", 3)
	f.Add(`{"Items":[1],"data":"not an array"}`, 1)
	f.Add("\uFEFF{\"data\":[{}]}", 1)
	f.Fuzz(func(t *testing.T, data string, per int) {
		per = 1 + (per%5+5)%5
		chunks, err := splitJSONPages([]byte(data), "data", chunkLimits{records: per, bytes: 1 << 20})
		if err != nil {
			return
		}
		objects, err := jsonValues([]byte(data))
		if err != nil {
			t.Fatalf("split succeeded but the values do not decode: %v", err)
		}
		// Items compared by value: a page that is cut is re-encoded (compacted, keys sorted).
		canon := func(raw json.RawMessage) string {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("item %s: %v", raw, err)
			}
			b, _ := json.Marshal(v)
			return string(b)
		}
		items := func(page []byte) ([]string, bool) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(page, &m); err != nil {
				return nil, false
			}
			var arr []json.RawMessage
			_ = json.Unmarshal(m["data"], &arr) // absent or null: no items
			out := []string{}
			for _, it := range arr {
				out = append(out, canon(it))
			}
			return out, true
		}
		var want, got []string
		for _, o := range objects {
			its, _ := items(o)
			want = append(want, its...)
		}
		for i, c := range chunks {
			its, ok := items(c.payload)
			if !ok {
				t.Fatalf("chunk %d is not an object: %s", i, c.payload)
			}
			if len(its) != c.records || len(its) > per {
				t.Fatalf("chunk %d holds %d items, says %d, limit %d", i, len(its), c.records, per)
			}
			got = append(got, its...)
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("items %q, want %q", got, want)
		}
	})
}
