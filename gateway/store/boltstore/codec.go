package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// Views are read on every checkpoint lookup, so they have a compact binary encoding (JSON
// decoding was 85% of a View's CPU time): a format byte, then the fields in order, strings
// and slices length-prefixed (slice lengths +1, so that nil and empty differ). A value that
// starts with '{' is a view stored as JSON by an earlier version, still read.
const viewFormat1 = 1

var errCorrupt = errors.New("corrupt view encoding")

func encodeView(v store.View) []byte {
	b := make([]byte, 0, 128+200*len(v.Latest))
	b = append(b, viewFormat1)
	b = appendString(b, v.QRID)
	b = appendBool(b, v.Verified)
	b = appendString(b, v.Person.FullName)
	b = binary.AppendVarint(b, int64(v.Person.BirthYear))
	b = append(b, byte(v.Person.DocumentType))
	b = appendString(b, v.Person.DocumentMasked)
	b = appendLen(b, v.Latest == nil, len(v.Latest))
	for _, s := range v.Latest {
		b = appendString(b, string(s.Platform))
		b = appendString(b, s.RecordID)
		b = appendString(b, s.Version)
		b = appendTimeValue(b, s.DeclaredAt)
		b = appendBool(b, s.OnBehalf)
		b = appendBool(b, s.HasSymptoms)
		b = appendLen(b, s.Symptoms == nil, len(s.Symptoms))
		for _, x := range s.Symptoms {
			b = appendString(b, string(x))
		}
		b = appendLen(b, s.Exposures == nil, len(s.Exposures))
		for _, x := range s.Exposures {
			b = appendString(b, string(x))
		}
		b = appendString(b, s.NameKey)
		b = binary.AppendVarint(b, int64(s.BirthDate.Year))
		b = append(b, byte(s.BirthDate.Month), byte(s.BirthDate.Day), byte(s.BirthDate.Precision), byte(s.Gender))
		b = appendString(b, s.Phone)
		b = appendString(b, s.ProvinceCode)
	}
	b = appendLen(b, v.Inconsistencies == nil, len(v.Inconsistencies))
	for _, in := range v.Inconsistencies {
		b = appendString(b, string(in.Field))
		b = appendString(b, string(in.PlatformA))
		b = appendString(b, string(in.PlatformB))
	}
	return binary.AppendUvarint(b, v.Revision)
}

func decodeView(b []byte, v *store.View) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, v)
	}
	if len(b) == 0 || b[0] != viewFormat1 {
		return errCorrupt
	}
	r := newReader(b)
	*v = store.View{}
	v.QRID = r.string()
	v.Verified = r.bool()
	v.Person.FullName = r.string()
	v.Person.BirthYear = int(r.varint())
	v.Person.DocumentType = canonical.DocumentType(r.byte())
	v.Person.DocumentMasked = r.string()
	if n, ok := r.len(); ok {
		v.Latest = make([]store.Summary, n)
		for i := range v.Latest {
			s := &v.Latest[i]
			s.Platform = canonical.Platform(r.string())
			s.RecordID = r.string()
			s.Version = r.string()
			s.DeclaredAt = r.time()
			s.OnBehalf = r.bool()
			s.HasSymptoms = r.bool()
			if n, ok := r.len(); ok {
				s.Symptoms = make([]canonical.Symptom, n)
				for j := range s.Symptoms {
					s.Symptoms[j] = canonical.Symptom(r.string())
				}
			}
			if n, ok := r.len(); ok {
				s.Exposures = make([]canonical.Exposure, n)
				for j := range s.Exposures {
					s.Exposures[j] = canonical.Exposure(r.string())
				}
			}
			s.NameKey = r.string()
			s.BirthDate.Year = int(r.varint())
			s.BirthDate.Month = int(r.byte())
			s.BirthDate.Day = int(r.byte())
			s.BirthDate.Precision = canonical.DatePrecision(r.byte())
			s.Gender = canonical.Gender(r.byte())
			s.Phone = r.string()
			s.ProvinceCode = r.string()
		}
	}
	if n, ok := r.len(); ok {
		v.Inconsistencies = make([]store.Inconsistency, n)
		for i := range v.Inconsistencies {
			in := &v.Inconsistencies[i]
			in.Field = store.Field(r.string())
			in.PlatformA = canonical.Platform(r.string())
			in.PlatformB = canonical.Platform(r.string())
		}
	}
	v.Revision = r.uvarint()
	if r.bad || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBool(b []byte, x bool) []byte {
	if x {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendLen writes 0 for a nil slice, else its length + 1.
func appendLen(b []byte, isNil bool, n int) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

// appendTimeValue writes a UTC instant (the zero time as a flag).
func appendTimeValue(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// reader decodes what the append functions wrote; the first error sticks in bad. It reads a
// string copy of the value, so that every string it returns is a part of that one copy
// instead of an allocation of its own.
type reader struct {
	b   string
	bad bool
}

// newReader reads b (after its format byte).
func newReader(b []byte) reader { return reader{b: string(b[1:])} }

// uvarint is binary.Uvarint on a string.
func (r *reader) uvarint() uint64 {
	var x uint64
	for i := 0; i < len(r.b) && i < binary.MaxVarintLen64; i++ {
		c := r.b[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // overflows 64 bits
			}
			r.b = r.b[i+1:]
			return x | uint64(c)<<(7*i)
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	r.bad, r.b = true, ""
	return 0
}

// varint is binary.Varint on a string (zig-zag over uvarint).
func (r *reader) varint() int64 {
	ux := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	x := r.b[0]
	r.b = r.b[1:]
	return x
}

func (r *reader) bool() bool { return r.byte() == 1 }

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, ""
		return ""
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// len reads a slice length; false for a nil slice. A length longer than the bytes left could
// hold is corrupt (so a bad value cannot make a huge allocation).
func (r *reader) len() (int, bool) {
	n := r.uvarint()
	if n == 0 {
		return 0, false
	}
	if n-1 > uint64(len(r.b)) {
		r.bad, r.b = true, ""
		return 0, false
	}
	return int(n - 1), true
}

func (r *reader) time() time.Time {
	if r.byte() == 0 {
		return time.Time{}
	}
	sec := r.varint()
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.bad = true
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
