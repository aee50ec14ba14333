package boltstore

import (
	"encoding/json"

	"github.com/lienthong/lienthong/gateway/store"
)

// Accesses are written on every lookup, so they have a compact binary encoding like views
// (json.Marshal was most of AppendAccess's CPU): a format byte, the time, then the strings
// length-prefixed. A value that starts with '{' is an access stored as JSON by an earlier
// version, still read.
const accessFormat1 = 1

func encodeAccess(a store.Access) []byte {
	b := make([]byte, 0, 16+len(a.Principal)+len(a.Role)+len(a.Action)+len(a.QRID)+len(a.Reason)+5)
	b = append(b, accessFormat1)
	b = appendTimeValue(b, a.At)
	for _, s := range [...]string{a.Principal, a.Role, a.Action, a.QRID, a.Reason} {
		b = appendString(b, s)
	}
	return b
}

func decodeAccess(b []byte, a *store.Access) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, a)
	}
	if len(b) == 0 || b[0] != accessFormat1 {
		return errCorrupt
	}
	r := newReader(b)
	*a = store.Access{At: r.time()}
	for _, s := range [...]*string{&a.Principal, &a.Role, &a.Action, &a.QRID, &a.Reason} {
		*s = r.string()
	}
	if r.bad || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}
