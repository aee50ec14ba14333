package boltstore

import (
	"encoding/json"

	"github.com/lienthong/lienthong/gateway/store"
)

// Accesses are written on every lookup, so they have a compact binary encoding like views
// (json.Marshal was most of AppendAccess's CPU): a format byte, the time, then the strings
// length-prefixed. Format 1 held one access (builds before chunks wrote it; it is still
// read), as does a value that starts with '{', an access stored as JSON by an earlier one.
const accessFormat1 = 1

// accessFormatChunk is the format byte of a value holding a run of accesses from one
// AppendAccess call, oldest first, each as in format 1 without its format byte, to the end of
// the value. The gateway logs every lookup, and one key a lookup was most of the cost of
// logging it (a B+tree search and an element each); a chunk is one key for dozens.
const accessFormatChunk = 2

// accessChunkBytes bounds a chunk's value so that four chunks and their keys fit one 4 KiB
// page (its 16-byte header, and 16 bytes an element): bolt splits no node of four keys or
// fewer, so with larger chunks (3,500 bytes before) the leaves of the access bucket ran onto
// more pages, and a run of pages is what bolt's free-page array finds by scanning it. In a
// file of a million identities that scan was 1.7% of the gateway's CPU while it answered
// lookups, with the access log committing fifty times a second.
const accessChunkBytes = (4096-16)/4 - 16 - accessKeyLen

// appendAccess appends a's time and strings.
func appendAccess(b []byte, a *store.Access) []byte {
	b = appendTimeValue(b, a.At)
	for _, s := range [...]string{a.Principal, a.Role, a.Action, a.QRID, a.Reason} {
		b = appendString(b, s)
	}
	return b
}

// chunkAccesses splits as (sorted oldest first) into chunk values of at most
// accessChunkBytes each (an access larger than that alone), calling put with each chunk's
// first access and its value.
func chunkAccesses(as []store.Access, put func(first *store.Access, value []byte) error) error {
	for len(as) > 0 {
		// Room for the access that overflows the chunk, so it is not appended by a copy.
		v := append(make([]byte, 0, accessChunkBytes+512), accessFormatChunk)
		n := 0
		for ; n < len(as); n++ {
			end := len(v)
			if v = appendAccess(v, &as[n]); n > 0 && len(v) > accessChunkBytes {
				v = v[:end] // the next chunk's first
				break
			}
		}
		if err := put(&as[0], v); err != nil {
			return err
		}
		as = as[n:]
	}
	return nil
}

func decodeAccess(b []byte, a *store.Access) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, a)
	}
	if len(b) == 0 || b[0] != accessFormat1 {
		return errCorrupt
	}
	r := newReader(b)
	*a = readAccess(&r)
	if r.bad || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

func readAccess(r *reader) store.Access {
	a := store.Access{At: r.time()}
	for _, s := range [...]*string{&a.Principal, &a.Role, &a.Action, &a.QRID, &a.Reason} {
		*s = r.string()
	}
	return a
}

// decodeAccesses appends the accesses of a value of the access bucket to out, oldest first:
// a chunk's, or the one access of a value written before chunks (JSON or format 1).
func decodeAccesses(b []byte, out []store.Access) ([]store.Access, error) {
	if len(b) == 0 || b[0] != accessFormatChunk {
		var a store.Access
		if err := decodeAccess(b, &a); err != nil {
			return out, err
		}
		return append(out, a), nil
	}
	r := newReader(b)
	if len(r.b) == 0 {
		return out, errCorrupt // a chunk holds at least one access
	}
	for len(r.b) > 0 && !r.bad {
		out = append(out, readAccess(&r))
	}
	if r.bad {
		return out, errCorrupt
	}
	return out, nil
}
