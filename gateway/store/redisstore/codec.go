package redisstore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// The stored values are a hand-written binary encoding: a format byte, then fields in a fixed
// order, strings and slices as uvarint length + bytes, integers as (zig-zag) varints, times
// as varint Unix nanoseconds (0 for the zero time). Slices are written with length+1 so that
// nil and empty survive a round trip. It is several times smaller than JSON, which is what
// keeps an identity under 1 KiB (see TestMemoryPerIdentity).

// Format bytes, first byte of each stored value.
const (
	fmtDeclaration byte = 1
	fmtView        byte = 2
	fmtRejected    byte = 3
	fmtAccess      byte = 4
	fmtAccessChunk byte = 5
)

var errCorrupt = errors.New("redisstore: corrupt stored value")

// enc appends fields to b. A compact encoder (the view and versions, see compact.go) also
// writes repeated strings as references and times as differences.
type enc struct {
	b       []byte
	compact *table
}

func (e *enc) u(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)  { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) s(v string) {
	if e.compact != nil {
		e.compact.putString(e, v)
		return
	}
	e.u(uint64(len(v)))
	e.b = append(e.b, v...)
}
func (e *enc) bool(v bool) { e.b = append(e.b, boolByte(v)) }
func (e *enc) n(l int, isNil bool) {
	if isNil {
		e.u(0)
		return
	}
	e.u(uint64(l) + 1)
}
func (e *enc) t(v time.Time) {
	if e.compact != nil {
		e.compact.putTime(e, v)
		return
	}
	if v.IsZero() {
		e.i(0)
		return
	}
	e.i(v.UnixNano())
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// dec reads fields from b. It reads from a string, so the strings it returns share the
// stored value's memory instead of each being a copy.
type dec struct {
	b       string
	err     error
	compact *table
}

func (d *dec) fail() { d.err = errCorrupt; d.b = "" }

// uvarint reads an unsigned varint from the front of b, as binary.Uvarint does: n is the
// bytes read, 0 when b ends first, negative on overflow.
func uvarint(b string) (uint64, int) {
	var x uint64
	var s uint
	for i := 0; i < len(b) && i < binary.MaxVarintLen64; i++ {
		c := b[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	if len(b) > binary.MaxVarintLen64 {
		return 0, -(binary.MaxVarintLen64 + 1)
	}
	return 0, 0
}

func (d *dec) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) i() int64 {
	if d.err != nil {
		return 0
	}
	ux, n := uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	v := int64(ux >> 1)
	if ux&1 != 0 {
		v = ^v
	}
	return v
}

func (d *dec) s() string {
	if d.compact != nil {
		return d.compact.getString(d)
	}
	return d.literal(d.u())
}

// literal reads a string of l bytes.
func (d *dec) literal(l uint64) string {
	if d.err != nil || l > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	v := d.b[:l]
	d.b = d.b[l:]
	return v
}

func (d *dec) bool() bool {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

// n returns a slice length and whether the slice is nil.
func (d *dec) n() (int, bool) {
	v := d.u()
	if d.err != nil || v > uint64(len(d.b))+1 || v > math.MaxInt32 {
		d.fail()
		return 0, true
	}
	if v == 0 {
		return 0, true
	}
	return int(v - 1), false
}

func (d *dec) t() time.Time {
	if d.compact != nil {
		return d.compact.getTime(d)
	}
	v := d.i()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d *dec) byte1(want byte) {
	if d.err != nil || len(d.b) == 0 || d.b[0] != want {
		d.fail()
		return
	}
	d.b = d.b[1:]
}

func strs[T ~string](e *enc, l []T) {
	e.n(len(l), l == nil)
	for _, x := range l {
		e.s(string(x))
	}
}

func readStrs[T ~string](d *dec) []T {
	l, isNil := d.n()
	if isNil {
		return nil
	}
	out := make([]T, l)
	for i := range out {
		out[i] = T(d.s())
	}
	return out
}

func violations(e *enc, vs []canonical.Violation) {
	e.n(len(vs), vs == nil)
	for _, v := range vs {
		e.s(v.Field)
		e.s(string(v.Reason))
		e.s(v.Message)
	}
}

func readViolations(d *dec) []canonical.Violation {
	l, isNil := d.n()
	if isNil {
		return nil
	}
	out := make([]canonical.Violation, l)
	for i := range out {
		out[i] = canonical.Violation{Field: d.s(), Reason: canonical.Reason(d.s()), Message: d.s()}
	}
	return out
}

func birthDate(e *enc, b canonical.BirthDate) {
	e.i(int64(b.Year))
	e.u(uint64(b.Month))
	e.u(uint64(b.Day))
	e.u(uint64(b.Precision))
}

func readBirthDate(d *dec) canonical.BirthDate {
	return canonical.BirthDate{Year: int(d.i()), Month: int(d.u()), Day: int(d.u()), Precision: canonical.DatePrecision(d.u())}
}

func declaration(e *enc, x *canonical.Declaration) {
	s := x.Source
	e.s(string(s.Platform))
	e.s(s.RecordID)
	e.s(s.Version)
	e.s(s.SubjectID)
	e.i(int64(s.Line))
	e.bool(x.OnBehalf)
	p := x.Person
	e.s(p.FullName)
	e.s(p.NameKey)
	birthDate(e, p.BirthDate)
	e.i(int64(p.Gender))
	e.s(p.Nationality)
	e.i(int64(p.Document.Type))
	e.s(p.Document.Number)
	e.s(p.FormerCMND)
	e.s(p.Phone)
	e.s(p.Email)
	e.s(p.SocialInsurance)
	a := x.Address
	e.s(a.Province)
	e.s(a.ProvinceCode)
	e.s(string(a.CodeSet))
	e.s(a.Province2025)
	e.s(a.District)
	e.s(a.Ward)
	e.s(a.Street)
	h := x.Health
	e.i(int64(h.Form))
	strs(e, h.Symptoms)
	e.bool(h.HasSymptoms)
	e.s(h.SymptomNote)
	strs(e, h.Exposures)
	strs(e, h.Conditions)
	e.s(h.PlacesNote)
	e.t(x.DeclaredAt)
	e.t(x.ReceivedAt)
	violations(e, x.Problems)
}

func readDeclaration(d *dec) canonical.Declaration {
	var x canonical.Declaration
	x.Source = canonical.Source{Platform: canonical.Platform(d.s()), RecordID: d.s(), Version: d.s(), SubjectID: d.s(), Line: int(d.i())}
	x.OnBehalf = d.bool()
	p := &x.Person
	p.FullName = d.s()
	p.NameKey = d.s()
	p.BirthDate = readBirthDate(d)
	p.Gender = canonical.Gender(d.i())
	p.Nationality = d.s()
	p.Document.Type = canonical.DocumentType(d.i())
	p.Document.Number = d.s()
	p.FormerCMND = d.s()
	p.Phone = d.s()
	p.Email = d.s()
	p.SocialInsurance = d.s()
	a := &x.Address
	a.Province = d.s()
	a.ProvinceCode = d.s()
	a.CodeSet = canonical.CodeSet(d.s())
	a.Province2025 = d.s()
	a.District = d.s()
	a.Ward = d.s()
	a.Street = d.s()
	h := &x.Health
	h.Form = canonical.SymptomForm(d.i())
	h.Symptoms = readStrs[canonical.Symptom](d)
	h.HasSymptoms = d.bool()
	h.SymptomNote = d.s()
	h.Exposures = readStrs[canonical.Exposure](d)
	h.Conditions = readStrs[string](d)
	h.PlacesNote = d.s()
	x.DeclaredAt = d.t()
	x.ReceivedAt = d.t()
	x.Problems = readViolations(d)
	return x
}

func encodeDeclaration(x *canonical.Declaration) []byte {
	e := enc{b: make([]byte, 0, 256)}
	e.b = append(e.b, fmtDeclaration)
	declaration(&e, x)
	return e.b
}

func decodeDeclaration(b string) (canonical.Declaration, error) {
	d := dec{b: b}
	d.byte1(fmtDeclaration)
	x := readDeclaration(&d)
	return x, d.done()
}

func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return d.err
}

// encodeViewBody encodes a view without its revision, which the stored value carries in a
// header Lua can read (see viewValue). Views are now stored compact (viewValue); this plain
// form is what earlier versions stored, DEFLATE-compressed.
func encodeViewBody(v *store.View) []byte {
	e := enc{b: make([]byte, 0, 256)}
	e.b = append(e.b, fmtView)
	e.s(v.QRID)
	viewFields(&e, v)
	return e.b
}

// viewFields encodes the fields of a view after its QR id.
func viewFields(e *enc, v *store.View) {
	e.bool(v.Verified)
	p := v.Person
	e.s(p.FullName)
	e.i(int64(p.BirthYear))
	e.i(int64(p.DocumentType))
	e.s(p.DocumentMasked)
	e.n(len(v.Latest), v.Latest == nil)
	for _, s := range v.Latest {
		e.s(string(s.Platform))
		e.s(s.RecordID)
		e.s(s.Version)
		e.t(s.DeclaredAt)
		e.bool(s.OnBehalf)
		e.bool(s.HasSymptoms)
		strs(e, s.Symptoms)
		strs(e, s.Exposures)
		e.s(s.NameKey)
		birthDate(e, s.BirthDate)
		e.i(int64(s.Gender))
		e.s(s.Phone)
		e.s(s.ProvinceCode)
	}
	e.n(len(v.Inconsistencies), v.Inconsistencies == nil)
	for _, in := range v.Inconsistencies {
		e.s(string(in.Field))
		e.s(string(in.PlatformA))
		e.s(string(in.PlatformB))
	}
}

func decodeViewBody(b string, rev uint64) (store.View, error) {
	d := dec{b: b}
	d.byte1(fmtView)
	var v store.View
	v.QRID = d.s()
	readViewFields(&d, &v)
	v.Revision = rev
	return v, d.done()
}

// readViewFields decodes what viewFields encodes.
func readViewFields(d *dec, v *store.View) {
	v.Verified = d.bool()
	v.Person = store.Person{FullName: d.s(), BirthYear: int(d.i()), DocumentType: canonical.DocumentType(d.i()), DocumentMasked: d.s()}
	if l, isNil := d.n(); !isNil {
		v.Latest = make([]store.Summary, l)
		for i := range v.Latest {
			s := &v.Latest[i]
			s.Platform = canonical.Platform(d.s())
			s.RecordID = d.s()
			s.Version = d.s()
			s.DeclaredAt = d.t()
			s.OnBehalf = d.bool()
			s.HasSymptoms = d.bool()
			s.Symptoms = readStrs[canonical.Symptom](d)
			s.Exposures = readStrs[canonical.Exposure](d)
			s.NameKey = d.s()
			s.BirthDate = readBirthDate(d)
			s.Gender = canonical.Gender(d.i())
			s.Phone = d.s()
			s.ProvinceCode = d.s()
		}
	}
	if l, isNil := d.n(); !isNil {
		v.Inconsistencies = make([]store.Inconsistency, l)
		for i := range v.Inconsistencies {
			v.Inconsistencies[i] = store.Inconsistency{Field: store.Field(d.s()), PlatformA: canonical.Platform(d.s()), PlatformB: canonical.Platform(d.s())}
		}
	}
}

func encodeRejected(r *store.Rejected) []byte {
	e := enc{b: make([]byte, 0, 256)}
	e.b = append(e.b, fmtRejected)
	declaration(&e, &r.Declaration)
	violations(&e, r.Violations)
	return e.b
}

func decodeRejected(b string) (store.Rejected, error) {
	d := dec{b: b}
	d.byte1(fmtRejected)
	var r store.Rejected
	r.Declaration = readDeclaration(&d)
	r.Violations = readViolations(&d)
	return r, d.done()
}

func encodeAccess(a *store.Access) []byte { return appendAccess(make([]byte, 0, 96), a) }

// appendAccess appends encodeAccess(a) to b.
func appendAccess(b []byte, a *store.Access) []byte {
	e := enc{b: b}
	e.b = append(e.b, fmtAccess)
	e.t(a.At)
	e.s(a.Principal)
	e.s(a.Role)
	e.s(a.Action)
	e.s(a.QRID)
	e.s(a.Reason)
	return e.b
}

func decodeAccess(b string) (store.Access, error) {
	d := dec{b: b}
	d.byte1(fmtAccess)
	a := store.Access{At: d.t(), Principal: d.s(), Role: d.s(), Action: d.s(), QRID: d.s(), Reason: d.s()}
	return a, d.done()
}

// encodeAccessChunk encodes accesses of one principal: the principal once, then each
// access's other fields (an access chunk, see AppendAccess).
func encodeAccessChunk(principal string, as []*store.Access) []byte {
	e := enc{b: make([]byte, 0, 16+len(principal)+48*len(as))}
	e.b = append(e.b, fmtAccessChunk)
	e.s(principal)
	e.u(uint64(len(as)))
	for _, a := range as {
		e.t(a.At)
		e.s(a.Role)
		e.s(a.Action)
		e.s(a.QRID)
		e.s(a.Reason)
	}
	return e.b
}

func decodeAccessChunk(b string) ([]store.Access, error) {
	d := dec{b: b}
	d.byte1(fmtAccessChunk)
	principal := d.s()
	n := d.u()
	if d.err != nil || n > uint64(len(d.b)) { // every access takes at least a byte
		return nil, errCorrupt
	}
	out := make([]store.Access, n)
	for i := range out {
		out[i] = store.Access{At: d.t(), Principal: principal, Role: d.s(), Action: d.s(), QRID: d.s(), Reason: d.s()}
	}
	return out, d.done()
}
