package redisstore

import (
	"encoding/hex"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// Views and versions are stored in a compact form of the binary encoding, without DEFLATE:
// compressing values of a few hundred bytes cost most of a write's CPU time (building
// Huffman tables) and a lookup's decoding, and gained little over writing what repeats once.
// A compact value shares one table between all its fields:
//
//   - a string already written in the value (2 bytes or more) is a reference to it;
//   - a version text in canonical.VersionOf's layout is written as a time;
//   - a lowercase UUID is its 16 bytes;
//   - a time is the difference from the previous time in the value, in seconds when whole.
//
// Its first byte is fmtIdentity (a view and its versions, see viewValue), or, as written for
// a while, fmtViewCompact (a view) or fmtVersionsCompact (versions): bits 1–2 set mean the
// reserved block type of DEFLATE, so no value written by earlier versions (raw DEFLATE)
// starts with them, and those are still read.
const (
	fmtViewCompact     byte = 0x06
	fmtVersionsCompact byte = 0x07
	fmtIdentity        byte = 0x0e
)

// maxTable bounds the strings a compact value remembers, so encoding stays linear.
const maxTable = 256

// String tags (uvarint): the low two bits say what follows.
const (
	strLiteral = 0 // length in the high bits, then the bytes
	strRef     = 1 // table index in the high bits
	strVersion = 2 // a time (VersionOf's layout)
	strUUID    = 3 // 16 bytes
)

// Time kinds (one byte, then a varint).
const (
	timeZero     = 0
	timeSeconds  = 1 // whole seconds since the previous time
	timeNanos    = 2 // nanoseconds since the previous time
	timeAbsolute = 3 // Unix nanoseconds
)

// table is the shared state of one compact value, alike in encoder and decoder.
type table struct {
	strs []string
	last int64 // Unix nanoseconds of the previous non-zero time
}

func (t *table) remember(s string) {
	if len(s) >= 2 && len(t.strs) < maxTable {
		if t.strs == nil {
			t.strs = make([]string, 0, 16)
		}
		t.strs = append(t.strs, s)
	}
}

func (t *table) putString(e *enc, s string) {
	if len(s) >= 2 {
		for i, x := range t.strs {
			if x == s {
				e.u(uint64(i)<<2 | strRef)
				return
			}
		}
	}
	if at, ok := versionTime(s); ok {
		e.u(strVersion)
		t.putTime(e, at)
		return
	}
	if id, ok := uuidBytes(s); ok {
		e.u(strUUID)
		e.b = append(e.b, id[:]...)
		return
	}
	e.u(uint64(len(s))<<2 | strLiteral)
	e.b = append(e.b, s...)
	t.remember(s)
}

func (t *table) getString(d *dec) string {
	x := d.u()
	if d.err != nil {
		return ""
	}
	switch x & 3 {
	case strRef:
		if x>>2 >= uint64(len(t.strs)) {
			d.fail()
			return ""
		}
		return t.strs[x>>2]
	case strVersion:
		if x>>2 != 0 {
			d.fail()
			return ""
		}
		at := t.getTime(d)
		if d.err != nil {
			return ""
		}
		return versionText(at)
	case strUUID:
		if x>>2 != 0 || len(d.b) < 16 {
			d.fail()
			return ""
		}
		s := uuidText(d.b[:16])
		d.b = d.b[16:]
		return s
	}
	s := d.literal(x >> 2)
	if d.err == nil {
		t.remember(s)
	}
	return s
}

// small reports whether n is far enough from the int64 limits for sums and differences of
// two such (Unix nanoseconds of the years 1824 to 2116).
func small(n int64) bool { return n > -(1<<62) && n < 1<<62 }

func (t *table) putTime(e *enc, v time.Time) {
	n := v.UnixNano()
	if v.IsZero() || n == 0 {
		// As in the plain encoding, the Unix epoch reads back as the zero time.
		e.b = append(e.b, timeZero)
		return
	}
	switch d := n - t.last; {
	case !small(n) || !small(t.last) || !small(d):
		e.b = append(e.b, timeAbsolute)
		e.i(n)
	case d%int64(time.Second) == 0:
		e.b = append(e.b, timeSeconds)
		e.i(d / int64(time.Second))
	default:
		e.b = append(e.b, timeNanos)
		e.i(d)
	}
	t.last = n
}

func (t *table) getTime(d *dec) time.Time {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return time.Time{}
	}
	kind := d.b[0]
	d.b = d.b[1:]
	if kind == timeZero {
		return time.Time{}
	}
	v := d.i()
	var n int64
	switch kind {
	case timeAbsolute:
		n = v
	case timeSeconds:
		if !small(t.last) || v > (1<<62)/int64(time.Second) || v < -(1<<62)/int64(time.Second) {
			d.fail()
			return time.Time{}
		}
		n = t.last + v*int64(time.Second)
	case timeNanos:
		if !small(t.last) || !small(v) {
			d.fail()
			return time.Time{}
		}
		n = t.last + v
	default:
		d.fail()
		return time.Time{}
	}
	if d.err != nil || n == 0 {
		// A zero Unix time would read back as the zero time: never written as a difference.
		d.fail()
		return time.Time{}
	}
	t.last = n
	return time.Unix(0, n).UTC()
}

// versionLayout is canonical.VersionOf's layout.
const versionLayout = "2006-01-02T15:04:05.000000000Z"

// versionText is canonical.VersionOf(at), written without time.Format (a lookup decodes a
// version text for each platform of the view).
func versionText(at time.Time) string {
	t := at.UTC()
	y, mo, d := t.Date()
	if y < 1000 || y > 9999 {
		return canonical.VersionOf(at)
	}
	h, mi, sec := t.Clock()
	var b [len(versionLayout)]byte
	putDigits(b[0:4], y)
	b[4] = '-'
	putDigits(b[5:7], int(mo))
	b[7] = '-'
	putDigits(b[8:10], d)
	b[10] = 'T'
	putDigits(b[11:13], h)
	b[13] = ':'
	putDigits(b[14:16], mi)
	b[16] = ':'
	putDigits(b[17:19], sec)
	b[19] = '.'
	putDigits(b[20:29], t.Nanosecond())
	b[29] = 'Z'
	return string(b[:])
}

// putDigits writes n (≥ 0) into b in decimal, zero-padded to len(b).
func putDigits(b []byte, n int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
}

// versionTime returns the time of a version text that VersionOf writes back exactly, in
// the years whose Unix nanoseconds an int64 holds with room to spare (1900 to 2199).
func versionTime(s string) (time.Time, bool) {
	if len(s) != len(versionLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' || s[29] != 'Z' {
		return time.Time{}, false
	}
	ok := true
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d := num(0, 4), num(5, 7), num(8, 10)
	h, mi, sec, ns := num(11, 13), num(14, 16), num(17, 19), num(20, 29)
	if !ok || y < 1900 || y > 2199 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	at := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
	if at.Day() != d || at.UnixNano() == 0 { // 31 November and the like; the epoch reads as zero
		return time.Time{}, false
	}
	return at, true
}

// uuidBytes returns the 16 bytes of a lowercase UUID text (8-4-4-4-12 hex digits).
func uuidBytes(s string) (id [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	var digits [32]byte
	copy(digits[0:8], s[0:8])
	copy(digits[8:12], s[9:13])
	copy(digits[12:16], s[14:18])
	copy(digits[16:20], s[19:23])
	copy(digits[20:32], s[24:36])
	for _, c := range digits {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return id, false
		}
	}
	_, err := hex.Decode(id[:], digits[:])
	return id, err == nil
}

func uuidText(b string) string {
	var out [36]byte
	j := 0
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		const digits = "0123456789abcdef"
		out[j], out[j+1] = digits[b[i]>>4], digits[b[i]&0x0f]
		j += 2
	}
	return string(out[:])
}
