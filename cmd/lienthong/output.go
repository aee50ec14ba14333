package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/canonical"
)

// writeJSON prints a message as indented protojson (the proto's field names), then a newline.
func writeJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// neutralizeCell defuses spreadsheet formula injection (OWASP "CSV Injection"): a cell that
// starts with =, +, -, @, a tab or a carriage return gets a leading single quote, so a
// spreadsheet shows it as text instead of running it.
func neutralizeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// safeCSV writes CSV rows whose every cell is neutralized.
type safeCSV struct{ w *csv.Writer }

func newSafeCSV(w io.Writer) *safeCSV { return &safeCSV{w: csv.NewWriter(w)} }

func (c *safeCSV) Write(cells ...string) error {
	row := make([]string, len(cells))
	for i, s := range cells {
		row[i] = neutralizeCell(s)
	}
	return c.w.Write(row)
}

// Flush writes what is buffered and returns the first write error.
func (c *safeCSV) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// table writes aligned columns for people (text/tabwriter).
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.Row(header...)
	return t
}

// Row writes one row; a tab or line break inside a cell is shown as a space so that it
// cannot break the columns.
func (t *table) Row(cells ...string) {
	for i, c := range cells {
		cells[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) Flush() error { return t.tw.Flush() }

// fmtTime shows a timestamp in Vietnam's time zone, where the declarations were made; empty
// when unset.
func fmtTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().In(canonical.VietnamZone).Format("2006-01-02 15:04:05 -07:00")
}

// fmtRFC3339 is a timestamp for machines; empty when unset.
func fmtRFC3339(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// enumWord turns STATUS_CLEAR into "clear" given the prefix "STATUS_".
func enumWord(s fmt.Stringer, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), prefix))
}

// orDash shows an empty value as "-" in tables.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
