package main

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestNeutralizeCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"+84912345678", "'+84912345678"}, // phone numbers in E.164 too: a spreadsheet would compute them
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"NGUYỄN VĂN AN", "NGUYỄN VĂN AN"},
		{"a=b", "a=b"}, // only the first character matters
		{"'=already", "'=already"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := neutralizeCell(tt.in); got != tt.want {
			t.Errorf("neutralizeCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSafeCSVRoundTrips(t *testing.T) {
	var buf bytes.Buffer
	w := newSafeCSV(&buf)
	w.Write("=1+1", `a "quoted", cell`, "line\nbreak")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0]; got[0] != "'=1+1" || got[1] != `a "quoted", cell` || got[2] != "line\nbreak" {
		t.Errorf("%q", got)
	}
}
