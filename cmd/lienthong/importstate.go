package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// importState is the resume file of an import: which chunks the gateway has committed, and
// their counts. It belongs to one file content, platform and chunk size.
type importState struct {
	FileSHA256   string                 `json:"file_sha256"`
	Platform     string                 `json:"platform"`
	ChunkRecords int                    `json:"chunk_records"`
	Chunks       int                    `json:"chunks"`
	Committed    map[string]chunkCounts `json:"committed"` // by chunk index, 0-based

	skipped int // chunks committed before this run
}

type chunkCounts struct {
	Accepted  int `json:"accepted"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
}

func fileDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// loadImportState reads the state file, or starts a new state when there is none. A state
// of another file content, platform or chunk size is refused: its chunk numbers would mean
// other records.
func loadImportState(path, digest, platform string, chunkRecords, chunks int) (*importState, error) {
	fresh := &importState{FileSHA256: digest, Platform: platform, ChunkRecords: chunkRecords, Chunks: chunks, Committed: map[string]chunkCounts{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resume state: %w", err)
	}
	var s importState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("resume state %s is damaged (%v): delete it to import from the start (the gateway skips what it already has)", path, err)
	}
	if s.FileSHA256 != digest || s.Platform != platform || s.ChunkRecords != chunkRecords || s.Chunks != chunks {
		return nil, fmt.Errorf("resume state %s belongs to another import (file content, --platform or --chunk differ): "+
			"delete it to import this file from the start (the gateway skips what it already has)", path)
	}
	if s.Committed == nil {
		s.Committed = map[string]chunkCounts{}
	}
	s.skipped = len(s.Committed)
	return &s, nil
}

func (s *importState) done(i int) bool {
	_, ok := s.Committed[strconv.Itoa(i)]
	return ok
}

func (s *importState) sum() chunkCounts {
	var t chunkCounts
	for _, c := range s.Committed {
		t.Accepted += c.Accepted
		t.Duplicate += c.Duplicate
		t.Rejected += c.Rejected
	}
	return t
}

// save replaces the state file atomically (write a temporary file, then rename).
func (s *importState) save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("resume state: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("resume state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("resume state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("resume state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("resume state: %w", err)
	}
	return nil
}

// importReport is the --report CSV: one row per rejected record (every record with
// --report-all), cells neutralized against formula injection.
type importReport struct {
	f   *os.File
	w   *safeCSV
	all bool
}

var importReportHeader = []string{"line", "record", "record_id", "outcome", "qr_id", "reasons", "fields", "messages"}

// openImportReport creates the report, or appends to it when an earlier run of the same
// import wrote its first part (resume).
func openImportReport(path string, resuming, all bool) (*importReport, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resuming {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, err
	}
	r := &importReport{f: f, w: newSafeCSV(f), all: all}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if info.Size() == 0 {
		if err := r.w.Write(importReportHeader...); err != nil {
			f.Close()
			return nil, err
		}
	}
	return r, nil
}

// write lists a chunk's results: the line in the file (CSV), the record's 1-based position in
// the file, its id, outcome, QR id, and its violations' reasons, fields and messages, each
// joined with "; ".
func (r *importReport) write(c importChunk, results []*lienthongv1.ItemResult) error {
	for _, it := range results {
		if !r.all && it.GetOutcome() != lienthongv1.Outcome_OUTCOME_REJECTED {
			continue
		}
		line := ""
		if it.GetLine() > 0 {
			line = strconv.Itoa(int(it.GetLine()) + c.lineOffset)
		}
		var reasons, fields, msgs []string
		for _, v := range it.GetViolations() {
			reasons = append(reasons, v.GetReason())
			fields = append(fields, v.GetField())
			msgs = append(msgs, fileLineMessage(v.GetMessage(), c.lineOffset))
		}
		err := r.w.Write(line, strconv.Itoa(c.firstIndex+int(it.GetIndex())+1), it.GetRecordId(),
			enumWord(it.GetOutcome(), "OUTCOME_"), it.GetQrId(),
			strings.Join(reasons, "; "), strings.Join(fields, "; "), strings.Join(msgs, "; "))
		if err != nil {
			return err
		}
	}
	return r.w.Flush()
}

// fileLineMessage rewrites a message's leading "line N:" (numbered within the chunk the
// gateway saw) to the file's line number.
func fileLineMessage(msg string, offset int) string {
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok || offset == 0 {
		return msg
	}
	num, tail, ok := strings.Cut(rest, ":")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return msg
	}
	return "line " + strconv.Itoa(n+offset) + ":" + tail
}

func (r *importReport) Close() error {
	if err := r.w.Flush(); err != nil {
		r.f.Close()
		return err
	}
	return r.f.Close()
}
