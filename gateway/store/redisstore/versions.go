package redisstore

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"sync"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// An identity's stored versions are one string: a compact value (compact.go) of every
// declaration. Versions of one person repeat most of their text (name, phone, document,
// address), which the compact form writes once; one string also saves the per-field
// overhead of a Redis hash, whose values are too long for its compact encoding. A write
// rewrites the string (identities keep a few dozen versions at most until Purge); the
// view's compare-and-set token guards it. Values written before the compact form were raw
// DEFLATE of a format byte and each encoded declaration, length-prefixed; they are read.

const fmtVersions byte = 5

// readers are the DEFLATE decompressors of values written before the compact form.
var readers = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// inflate decompresses b, refusing more than limit bytes.
func inflate(b []byte, limit int64) ([]byte, error) {
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(b), nil); err != nil {
		return nil, errCorrupt
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil || int64(len(out)) > limit {
		return nil, errCorrupt
	}
	return out, nil
}

// maxVersionsBytes bounds the decompressed size of one identity's versions, so a corrupt
// value cannot exhaust memory.
const maxVersionsBytes = 64 << 20

// decodeVersions parses the stored form; "" is no versions. Values written before the
// compact form are raw DEFLATE (see compact.go).
func decodeVersions(val string) ([]canonical.Declaration, error) {
	if val == "" {
		return nil, nil
	}
	if val[0] == fmtVersionsCompact {
		d := dec{b: val[1:], compact: &table{}}
		n := d.u()
		if d.err != nil || n > uint64(len(d.b)) {
			return nil, errCorrupt
		}
		out := make([]canonical.Declaration, n)
		for i := range out {
			out[i] = readDeclaration(&d)
		}
		return out, d.done()
	}
	raw, err := inflate([]byte(val), maxVersionsBytes)
	if err != nil || len(raw) == 0 || raw[0] != fmtVersions {
		return nil, errCorrupt
	}
	raw = raw[1:]
	var out []canonical.Declaration
	for len(raw) > 0 {
		n, k := binary.Uvarint(raw)
		if k <= 0 || n > uint64(len(raw)-k) {
			return nil, errCorrupt
		}
		d, err := decodeDeclaration(string(raw[k : k+int(n)]))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		raw = raw[k+int(n):]
	}
	return out, nil
}

func keyOf(d *canonical.Declaration) store.RecordKey {
	return store.RecordKey{Platform: d.Source.Platform, RecordID: d.Source.RecordID, Version: d.Source.Version}
}
