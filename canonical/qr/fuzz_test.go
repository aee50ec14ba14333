package qr

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"golang.org/x/text/unicode/norm"
)

// The seed corpus is twofold: the commented f.Add seeds below, and testdata/fuzz/<target>/,
// which holds inputs the fuzzer found interesting (coverage) or failing (the line break inside
// a signed QR) and which run as ordinary tests with every `go test`. Run one target with e.g.
//
//	go test -run XXX -fuzz '^FuzzParse$' -fuzztime 60s ./canonical/qr

// Seeds shared by the fuzz targets: every table case, plus shapes that stress the splitter.
func addSeeds(f *testing.F, extra ...string) {
	for _, c := range personal1405Cases {
		f.Add(c.in)
	}
	for _, c := range chipCardCases {
		f.Add(c.in)
	}
	for _, s := range extra {
		f.Add(s)
	}
	f.Add("")                                                     // nothing
	f.Add("|||||")                                                // six empty fields
	f.Add("||||||")                                               // seven empty fields
	f.Add("*|A|1990|0||")                                         // one masked character
	f.Add("LT1.")                                                 // the signed prefix alone
	f.Add(testQRID)                                               // a bare QR id
	f.Add("079090001234|ĐẶNG THỊ Ǆ|1990-**-05|1|Q|gt=9;sdt=;;,,") // odd letters, hidden month with a day
	f.Add("|\u0301|1990|0||")                                     // a name that is only a combining mark
	f.Add("|한국|1990|0||")                                         // Hangul, which NFD splits into jamo
}

// checkErr: every failure is kind Invalid and wraps one of the package's sentinels.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("error %v has kind %v, want invalid", err, errs.KindOf(err))
	}
	for _, e := range []error{ErrMalformed, ErrUnknownKey, ErrBadSignature, ErrExpired, ErrNotYetValid} {
		if errors.Is(err, e) {
			return
		}
	}
	t.Fatalf("error %v wraps none of the package's errors", err)
}

// check1405RoundTrip: Format then Parse gives the scan back (the name in its 1405 form), and
// formatting again changes nothing.
func check1405RoundTrip(t *testing.T, sc Scan) {
	t.Helper()
	out := FormatPersonal1405(sc)
	again, err := ParsePersonal1405(out)
	if err != nil {
		t.Fatalf("ParsePersonal1405(FormatPersonal1405(scan)) of %q: %v", out, err)
	}
	want := sc
	want.FullName = strings.ToUpper(fold(sc.FullName))
	if again != want {
		t.Fatalf("round trip of %q:\n got %+v\nwant %+v", out, again, want)
	}
	if out2 := FormatPersonal1405(again); out2 != out {
		t.Fatalf("format is not a fixpoint: %q then %q", out, out2)
	}
}

func FuzzParse(f *testing.F) {
	s := testSigner(f, "k2026-11", 1)
	keys := Keys{"k2026-11": s.PublicKey()}
	addSeeds(f, s.Sign(token), s.Sign(token)+"\n", testSigner(f, "k2026-11", 2).Sign(token))
	now := issued.Add(time.Hour)
	f.Fuzz(func(t *testing.T, in string) {
		sc, err := Parse(in, keys, now)
		if err != nil {
			checkErr(t, err)
			return
		}
		switch sc.Form {
		case FormSigned:
			// Only the signer's own text for this token verifies.
			if got := s.Sign(sc.Token); got != strings.Trim(in, " \t\r\n\v\f\u00a0\ufeff") {
				t.Fatalf("verified %q, but the signer writes %q", in, got)
			}
		case FormPersonal1405:
			check1405RoundTrip(t, sc)
		case FormChipCard:
			checkChipCard(t, sc)
		case FormQRID:
			if len(sc.QRID) != 24 {
				t.Fatalf("QR id %q", sc.QRID)
			}
		default:
			t.Fatalf("scan of form %v", sc.Form)
		}
	})
}

func FuzzVerify(f *testing.F) {
	s := testSigner(f, "k2026-11", 1)
	old := testSigner(f, "old", 3)
	keys := Keys{"k2026-11": s.PublicKey(), "old": old.PublicKey()}
	f.Add(s.Sign(token))                               // valid
	f.Add(old.Sign(token))                             // valid under the older key
	f.Add(testSigner(f, "k2026-11", 2).Sign(token))    // forged under our key id
	f.Add(testSigner(f, "k2027", 1).Sign(token))       // unknown key id
	f.Add(s.Sign(token)[:60])                          // truncated
	f.Add(SignedPrefix + strings.Repeat("_", 131))     // base64 of the right length, garbage inside
	f.Add(strings.Replace(s.Sign(token), "L", "l", 1)) // damaged prefix
	now := issued.Add(time.Hour)
	f.Fuzz(func(t *testing.T, in string) {
		tok, err := Verify(in, keys, now)
		if err != nil {
			checkErr(t, err)
			return
		}
		signer := map[string]*Signer{"k2026-11": s, "old": old}[tok.KeyID]
		if signer == nil {
			t.Fatalf("verified under key id %q, which is not in the set", tok.KeyID)
		}
		// No forged token verifies: whatever verifies is exactly what the key's holder signed.
		if got := signer.Sign(tok); got != in {
			t.Fatalf("verified %q, but the signer writes %q", in, got)
		}
		if !now.Before(tok.ExpiresAt) || now.Add(ClockSkew).Before(tok.IssuedAt) {
			t.Fatalf("verified a token outside its validity: %+v", tok)
		}
	})
}

func FuzzParsePersonal1405(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		sc, err := ParsePersonal1405(in)
		if err != nil {
			checkErr(t, err)
			return
		}
		if sc.Form != FormPersonal1405 || sc.FullName == "" || sc.BirthDate.Precision == canonical.PrecisionNone {
			t.Fatalf("incomplete scan %+v", sc)
		}
		if sc.DocumentMasked != strings.HasPrefix(sc.Document.Number, "*") {
			t.Fatalf("DocumentMasked %v for %q", sc.DocumentMasked, sc.Document.Number)
		}
		check1405RoundTrip(t, sc)
	})
}

func FuzzParseChipCard(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		sc, err := ParseChipCard(in)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkChipCard(t, sc)
	})
}

func checkChipCard(t *testing.T, sc Scan) {
	t.Helper()
	if sc.Form != FormChipCard || sc.Document.Type != canonical.DocumentCCCD || len(sc.Document.Number) != 12 || !allDigits(sc.Document.Number) {
		t.Fatalf("chip card scan without a 12-digit CCCD: %+v", sc)
	}
	if !utf8.ValidString(sc.FullName) || !norm.NFC.IsNormalString(sc.FullName) || sc.FullName == "" {
		t.Fatalf("chip card name %q is not NFC text", sc.FullName)
	}
	if sc.BirthDate.Precision != canonical.PrecisionDay || !validDay(sc.BirthDate.Year, sc.BirthDate.Month, sc.BirthDate.Day) {
		t.Fatalf("chip card birth date %+v", sc.BirthDate)
	}
	if sc.Gender == canonical.GenderUnspecified {
		t.Fatal("chip card without a gender")
	}
}
