package redisstore

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// Counter cells are hash fields of a bucket's counters key, named by store.CellKey; the
// cells of an item are store.CountsOf's, so both stores count alike.

func cellFields(cs []store.Count) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		out[i] = store.CellKey(c)
	}
	return out
}

func reasonsOf(r *store.Rejected) []canonical.Reason {
	var rs []canonical.Reason
	for _, v := range r.Violations {
		rs = append(rs, v.Reason)
	}
	slices.Sort(rs)
	return slices.Compact(rs)
}

// clean keeps a value from breaking the '|' framing of index members.
func clean(s string) string { return strings.ReplaceAll(s, "|", "/") }

// Index members. Inconsistent views are indexed under several prefixes, so every filter of
// InconsistencyQuery is one lexical range; members sort by QRID within a prefix:
//
//	a|qrid                any inconsistency
//	f|field|qrid          this field
//	p|A|B|qrid            this pair
//	fp|field|A|B|qrid
func incMembers(v *store.View) []string {
	if len(v.Inconsistencies) == 0 {
		return nil
	}
	q := v.QRID
	out := []string{"a|" + q}
	for _, in := range v.Inconsistencies {
		f, a, b := clean(string(in.Field)), clean(string(in.PlatformA)), clean(string(in.PlatformB))
		out = append(out, "f|"+f+"|"+q, "p|"+a+"|"+b+"|"+q, "fp|"+f+"|"+a+"|"+b+"|"+q)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// incPrefix is the index prefix answering q.
func incPrefix(q store.InconsistencyQuery) string {
	f := clean(string(q.Field))
	a, b := clean(string(q.PlatformA)), clean(string(q.PlatformB))
	if a != "" && b != "" && a > b {
		a, b = b, a
	}
	switch {
	case a != "" && b != "" && f != "":
		return "fp|" + f + "|" + a + "|" + b + "|"
	case a != "" && b != "":
		return "p|" + a + "|" + b + "|"
	case f != "":
		return "f|" + f + "|"
	}
	return "a|"
}

// diff returns the members of old not in new, and of new not in old (both sorted).
func diff(old, new []string) (removed, added []string) {
	for _, m := range old {
		if _, ok := slices.BinarySearch(new, m); !ok {
			removed = append(removed, m)
		}
	}
	for _, m := range new {
		if _, ok := slices.BinarySearch(old, m); !ok {
			added = append(added, m)
		}
	}
	return removed, added
}

// stamp is a time as 20 zero-padded digits of Unix nanoseconds, so members sort by time.
func stamp(t time.Time) string { return string(appendStamp(nil, t)) }

// appendStamp appends stamp(t) to b.
func appendStamp(b []byte, t time.Time) []byte { return appendStampNs(b, stampNs(t)) }

// stampNs is the Unix nanoseconds a stamp writes: 0 for the zero time and times before 1970.
func stampNs(t time.Time) int64 {
	n := int64(0)
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return max(n, 0)
}

// appendStampNs appends n (≥ 0) as a stamp.
func appendStampNs(b []byte, n int64) []byte {
	var digits [20]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, digits[:]...)
}

// Rejection index members, newest first by reading them in reverse:
//
//	a|stamp|record        r|reason|stamp|record
//	p|platform|stamp|record   pr|platform|reason|stamp|record
func rejectionMembers(r *store.Rejected, field string) []string {
	suffix := stamp(store.RejectedAt(r.Declaration)) + "|" + field
	p := clean(string(r.Declaration.Source.Platform))
	out := []string{"a|" + suffix, "p|" + p + "|" + suffix}
	for _, reason := range reasonsOf(r) {
		rs := clean(string(reason))
		out = append(out, "r|"+rs+"|"+suffix, "pr|"+p+"|"+rs+"|"+suffix)
	}
	return out
}

func rejectionPrefix(q store.RejectionQuery) string {
	p, r := clean(string(q.Platform)), clean(string(q.Reason))
	switch {
	case p != "" && r != "":
		return "pr|" + p + "|" + r + "|"
	case p != "":
		return "p|" + p + "|"
	case r != "":
		return "r|" + r + "|"
	}
	return "a|"
}

// Access index members (see AppendAccess). An access of a QR id is one member carrying it:
//
//	q|qrid|stamp|bucket|id|<encoded access>
//
// and the accesses of one principal in one second of one AppendAccess call are one chunk,
// stored in a hash under a random id and named by two members:
//
//	A|window|chunk           U|principal|window|chunk
//
// Earlier versions wrote every access under "a|" and "u|principal|" too (and "qu|qrid|
// principal|" before that, now unread), each followed by "stamp|bucket|id[|<access>]".
func accessQRIDPrefix(qrid string) string { return "q|" + clean(qrid) + "|" }

// accessPrefixes returns the prefixes of per-access members (earlier versions) and of
// chunk members read for a query naming no QR id.
func accessPrefixes(principal string) (legacy, chunk string) {
	if principal != "" {
		p := clean(principal)
		return "u|" + p + "|", "U|" + p + "|"
	}
	return "a|", "A|"
}

// accessWindow is the time span of an access chunk: a chunk holds accesses whose stamps are
// in [window, window+accessWindow), so an index read knows which chunks may hold an access
// newer than a given stamp.
const accessWindow = int64(time.Second)

// windowEnd is the stamp just past the window starting at ns: every access of a chunk of that
// window sorts before it.
func windowEnd(ns int64) string {
	if ns > math.MaxInt64-accessWindow {
		return "99999999999999999999"
	}
	return string(appendStampNs(nil, ns-ns%accessWindow+accessWindow))
}
