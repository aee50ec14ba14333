package qr

import (
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
)

// Form is which kind of QR code a scan was.
type Form int8

// The QR forms a checkpoint meets. FormUnknown is the zero value.
const (
	FormUnknown      Form = iota
	FormSigned            // the gateway's own signed QR ("LT1.")
	FormPersonal1405      // the unified personal QR of decision 1405/QĐ-BTTTT
	FormChipCard          // the chip ID card's (CCCD) QR
	FormQRID              // a bare QR id
)

// String names the form.
func (f Form) String() string {
	switch f {
	case FormSigned:
		return "signed"
	case FormPersonal1405:
		return "personal1405"
	case FormChipCard:
		return "chipcard"
	case FormQRID:
		return "qrid"
	}
	return "unknown"
}

// Scan is what a checkpoint learns from one QR code. Which fields are set depends on Form.
type Scan struct {
	Form  Form
	QRID  string // the gateway QR id: from a signed QR, a bare QR id, or a 1405 QID that is one
	Token Token  // FormSigned: the verified token

	Document       canonical.Document // the number may be masked ("******001234")
	DocumentMasked bool               // the number's first characters are '*'
	FormerCMND     string             // FormChipCard: the old CMND number, if the card gives one
	FullName       string             // NFC, single-spaced; upper case without diacritics in a 1405 QR
	BirthDate      canonical.BirthDate
	Gender         canonical.Gender
	OnBehalf       bool   // FormPersonal1405: declared on someone's behalf (LoaiDinhDanh 1)
	QID            string // FormPersonal1405: the QID field as written
	Phone          string // FormPersonal1405: a phone from EXT, digits as written ('+' kept)
}

// MaxLen is the longest QR text Parse reads, in bytes.
const MaxLen = 2048

// Parse reads any QR a checkpoint meets, detecting its form: the gateway's signed QR (prefix
// "LT1.", verified against keys at now); a chip ID card's QR (a ddMMyyyy date in the fourth
// field, or 7 fields starting with 12 digits); a 1405 personal QR (any other text with '|');
// or a bare QR id (in either case). Surrounding spaces, newlines and a byte-order mark that
// scanners add are ignored; more than MaxLen bytes or invalid UTF-8 is malformed. Errors have
// kind errs.Invalid and wrap ErrMalformed or one of the signature errors; they say what is
// wrong for a checkpoint operator and never repeat the person's data.
func Parse(s string, keys KeySet, now time.Time) (Scan, error) {
	return parse(s, keys, now, Verify)
}

// parse is Parse with the verification of signed QRs given (Verify, or a VerifyCache's).
func parse(s string, keys KeySet, now time.Time, verify func(string, KeySet, time.Time) (Token, error)) (Scan, error) {
	const op = "qr.Parse"
	s, err := prepare(op, s)
	if err != nil {
		return Scan{}, err
	}
	switch {
	case strings.HasPrefix(s, SignedPrefix):
		t, err := verify(s, keys, now)
		if err != nil {
			return Scan{}, err
		}
		return Scan{Form: FormSigned, QRID: t.QRID, Token: t}, nil
	case strings.Contains(s, "|"):
		if looksLikeChipCard(s) {
			return ParseChipCard(s)
		}
		return ParsePersonal1405(s)
	case identity.LooksLikeQRID(strings.ToLower(s)):
		// A QR id read aloud or typed may come in upper case; its alphabet is case-free.
		return Scan{Form: FormQRID, QRID: strings.ToLower(s)}, nil
	case strings.HasPrefix(s, "LT") && len(s) > 3 && s[3] == '.':
		return Scan{}, malformed(op, "gateway QR code of an unsupported version; update the checkpoint app")
	}
	return Scan{}, malformed(op, "not a QR code the gateway knows (signed QR, 1405 personal QR, chip ID card or QR id)")
}

// looksLikeChipCard: a ddMMyyyy date (8 digits) in the fourth field, where a 1405 QR has its
// LoaiDinhDanh (0 or 1); or 7 fields (a 1405 QR has at most 6) with 12 digits first. So a
// broken chip card's error speaks of the chip card's fields.
func looksLikeChipCard(s string) bool {
	f := strings.SplitN(s, "|", 5)
	if len(f) >= 4 {
		if d := strings.TrimSpace(f[3]); len(d) == 8 && allDigits(d) {
			return true
		}
	}
	first := strings.TrimSpace(f[0])
	return strings.Count(s, "|") == 6 && len(first) == 12 && allDigits(first)
}

func malformed(op, why string) error {
	return errs.E(errs.Invalid, op, fmt.Errorf("%w: %s", ErrMalformed, why))
}

// fieldError names a field by position and its name in the format, and says what is wrong.
func fieldError(op string, pos int, name, why string) error {
	return malformed(op, fmt.Sprintf("field %d (%s) %s", pos, name, why))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Person returns what the scan says about the person as a canonical.Person, not yet
// normalized, for the gateway to Normalize and derive the QR identity from. A masked document
// number is left out (it would derive someone else's key); a chip card's holder is Vietnamese.
func (sc Scan) Person() canonical.Person {
	p := canonical.Person{
		FullName:   sc.FullName,
		BirthDate:  sc.BirthDate,
		Gender:     sc.Gender,
		FormerCMND: sc.FormerCMND,
		Phone:      sc.Phone,
	}
	if !sc.DocumentMasked {
		p.Document = sc.Document
	}
	if sc.Form == FormChipCard {
		p.Nationality = "VN"
	}
	return p
}
