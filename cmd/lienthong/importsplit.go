package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// importChunk is one request's worth of a native export.
type importChunk struct {
	payload []byte
	records int // how many records it holds (CSV rows, JSON items)
	// firstIndex is the index in the whole file of the chunk's first record (0-based).
	firstIndex int
	// lineOffset turns a line number the gateway reports for this chunk (the chunk's own
	// header being line 1) into the file's line number; 0 for JSON.
	lineOffset int
}

// chunkLimits bound one chunk: the gateway takes at most 1,000 records and 4 MiB per request.
type chunkLimits struct {
	records int
	bytes   int
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// splitTokhaiyteCSV cuts a tokhaiyte CSV export into chunks of whole rows, each with the
// header row, without re-encoding a byte: a malformed row reaches the gateway exactly as it is
// in the file, to be rejected there with its line number. Row boundaries are found by the same
// CSV reader the gateway decodes with, so a quoted field spanning lines stays whole.
func splitTokhaiyteCSV(data []byte, lim chunkLimits) ([]importChunk, error) {
	body := bytes.TrimPrefix(data, utf8BOM)
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: a tokhaiyte export starts with its header row")
		}
		return nil, fmt.Errorf("the header row is not CSV: %w", err)
	}
	headerEnd := int(cr.InputOffset())
	header := body[:headerEnd]
	if !bytes.HasSuffix(header, []byte("\n")) {
		return nil, nil // a header and nothing else
	}
	headerLines := bytes.Count(header, []byte("\n"))

	var chunks []importChunk
	start, rows, index := headerEnd, 0, 0
	startLine := 1 + headerLines // the file's line number at body[start]
	flush := func(end int) {
		if rows == 0 {
			return
		}
		skipped := startLine - (headerLines + 1) // the file's lines before this chunk's rows
		c := importChunk{records: rows, firstIndex: index - rows}
		if len(header)+skipped+end-start <= lim.bytes {
			// Blank lines in place of the rows sent before (a CSV reader skips them) keep
			// every row on its own line number, so the gateway stores and reports the
			// file's line numbers.
			c.payload = make([]byte, 0, len(header)+skipped+end-start)
			c.payload = append(c.payload, header...)
			c.payload = append(c.payload, bytes.Repeat([]byte("\n"), skipped)...)
		} else {
			// A file of millions of lines: the gateway numbers this chunk's lines from
			// its header; the report adds the offset.
			c.payload = make([]byte, 0, len(header)+end-start)
			c.payload = append(c.payload, header...)
			c.lineOffset = skipped
		}
		c.payload = append(c.payload, body[start:end]...)
		chunks = append(chunks, c)
		startLine += bytes.Count(body[start:end], []byte("\n"))
		start, rows = end, 0
	}
	prev := headerEnd
	for {
		_, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, err
		}
		// A row with broken quoting is still one row: the gateway rejects it alone.
		end := int(cr.InputOffset())
		if rows > 0 && (rows >= lim.records || len(header)+end-start > lim.bytes) {
			flush(prev)
		}
		rows++
		index++
		prev = end
	}
	flush(len(body))
	return chunks, nil
}

// splitJSONPages cuts a JSON export into chunks: the file is one object, a JSON array of
// objects, or objects one after another (JSON lines). Each object is one page (NCOVI, items
// under "data") or batch (Bluezone, items under "Items"); one holding more items than a chunk
// takes is split into several objects with the same other members.
func splitJSONPages(data []byte, itemsKey string, lim chunkLimits) ([]importChunk, error) {
	objects, err := jsonValues(data)
	if err != nil {
		return nil, err
	}
	var chunks []importChunk
	index := 0
	for n, obj := range objects {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(obj, &members); err != nil {
			return nil, fmt.Errorf("value %d is not a JSON object: %w", n+1, err)
		}
		var items []json.RawMessage
		if raw, ok := members[itemsKey]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("value %d: %q is not a JSON array: %w", n+1, itemsKey, err)
			}
		}
		if len(items) <= lim.records && len(obj) <= lim.bytes {
			// Sent exactly as it is in the file.
			chunks = append(chunks, importChunk{payload: obj, records: len(items), firstIndex: index})
			index += len(items)
			continue
		}
		for len(items) > 0 {
			take, size := 0, len(obj)-lenItems(items)
			for take < len(items) && take < lim.records && (take == 0 || size+len(items[take])+1 <= lim.bytes) {
				size += len(items[take]) + 1
				take++
			}
			members[itemsKey], _ = json.Marshal(items[:take])
			payload, err := json.Marshal(members)
			if err != nil {
				return nil, err
			}
			chunks = append(chunks, importChunk{payload: payload, records: take, firstIndex: index})
			index += take
			items = items[take:]
		}
	}
	return chunks, nil
}

func lenItems(items []json.RawMessage) int {
	n := 0
	for _, it := range items {
		n += len(it) + 1
	}
	return n
}

// jsonValues returns the objects of a file: the elements of a top-level array, or the
// top-level values one after another.
func jsonValues(data []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))
	if len(trimmed) == 0 {
		return nil, errors.New("the file is empty")
	}
	if trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			return nil, fmt.Errorf("not a JSON array of pages: %w", err)
		}
		return arr, nil
	}
	var out []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("JSON value %d (byte %d): %w", len(out)+1, dec.InputOffset(), err)
		}
		out = append(out, v)
	}
}
