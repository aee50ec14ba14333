package qr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
)

func bdDay(y, m, d int) canonical.BirthDate {
	return canonical.BirthDate{Year: y, Month: m, Day: d, Precision: canonical.PrecisionDay}
}

func bdYear(y int) canonical.BirthDate {
	return canonical.BirthDate{Year: y, Precision: canonical.PrecisionYear}
}

func doc(t canonical.DocumentType, n string) canonical.Document {
	return canonical.Document{Type: t, Number: n}
}

// parseCase is one QR text and what reading it must give: a scan, or an error wrapping want
// whose message contains msg.
type parseCase struct {
	name string
	in   string
	scan Scan
	want error
	msg  string
}

var personal1405Cases = []parseCase{
	{name: "masked CCCD, full date, self, QID, EXT with gender and phone",
		in: "******001234|NGUYEN VAN AN|1990-05-17|0|QID-00123|1;0912345678",
		scan: Scan{Form: FormPersonal1405, Document: doc(canonical.DocumentCCCD, "******001234"), DocumentMasked: true,
			FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), Gender: canonical.GenderMale, QID: "QID-00123", Phone: "0912345678"}},
	{name: "unmasked CCCD, EXT absent (5 fields)",
		in:   "079090001234|NGUYEN VAN AN|1990-05-17|0|QID-00123",
		scan: Scan{Form: FormPersonal1405, Document: doc(canonical.DocumentCCCD, "079090001234"), FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), QID: "QID-00123"}},
	{name: "day and month masked with ** gives the year only",
		in:   "******001234|TRAN THI BINH|1985-**-**|1|Q2|",
		scan: Scan{Form: FormPersonal1405, Document: doc(canonical.DocumentCCCD, "******001234"), DocumentMasked: true, FullName: "TRAN THI BINH", BirthDate: bdYear(1985), OnBehalf: true, QID: "Q2"}},
	{name: "day and month 00 gives the year only",
		in:   "|NGUYEN THI CUC|2015-00-00|1||",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN THI CUC", BirthDate: bdYear(2015), OnBehalf: true}},
	// Only the day hidden: we keep no month-precision date, so the year only.
	{name: "day masked only", in: "|LE VAN DUC|2001-07-**|0|Q|",
		scan: Scan{Form: FormPersonal1405, FullName: "LE VAN DUC", BirthDate: bdYear(2001), QID: "Q"}},
	{name: "masked CMND", in: "******789|PHAM VAN EM|1970-01-02|0|Q|",
		scan: Scan{Form: FormPersonal1405, Document: doc(canonical.DocumentCMND, "******789"), DocumentMasked: true, FullName: "PHAM VAN EM", BirthDate: bdDay(1970, 1, 2), QID: "Q"}},
	{name: "passport", in: "B1234567|JOHN SMITH|1980-12-31|0|Q|",
		scan: Scan{Form: FormPersonal1405, Document: doc(canonical.DocumentPassport, "B1234567"), FullName: "JOHN SMITH", BirthDate: bdDay(1980, 12, 31), QID: "Q"}},
	{name: "QID that is our QR id also sets QRID", in: "|NGUYEN VAN AN|1990-05-17|0|" + testQRID + "|",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), QID: testQRID, QRID: testQRID}},
	{name: "EXT separated by commas, with other items", in: "|NGUYEN VAN AN|1990-05-17|0|Q|QIDCHA123,0,DN4797915000001,+84912345678,c2lnbmF0dXJl",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), Gender: canonical.GenderFemale, QID: "Q", Phone: "+84912345678"}},
	{name: "EXT as key=value", in: "|NGUYEN VAN AN|1990-05-17|0|Q|sdt=0912345678; gt = 2",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), Gender: canonical.GenderOther, QID: "Q", Phone: "0912345678"}},
	// A 12-digit number in EXT is the declarer's CCCD, not a phone; 7 is no gender code.
	{name: "EXT with nothing it knows", in: "|NGUYEN VAN AN|1990-05-17|0|Q|079090001234;7;x=y",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), QID: "Q"}},
	{name: "name with extra spaces is single-spaced", in: "| NGUYEN  VAN   AN |1990-05-17|0|Q|",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), QID: "Q"}},
	{name: "bare birth year accepted", in: "|NGUYEN VAN AN|1990|0|Q|",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN VAN AN", BirthDate: bdYear(1990), QID: "Q"}},
	{name: "leap day", in: "|NGUYEN VAN AN|2000-02-29|0|Q|",
		scan: Scan{Form: FormPersonal1405, FullName: "NGUYEN VAN AN", BirthDate: bdDay(2000, 2, 29), QID: "Q"}},

	{name: "4 fields", in: "******001234|NGUYEN VAN AN|1990-05-17|0", want: ErrMalformed, msg: "found 4 fields"},
	{name: "7 fields", in: "******001234|NGUYEN VAN AN|1990-05-17|0|Q|1|x", want: ErrMalformed, msg: "found 7 fields"},
	{name: "no such day", in: "|NGUYEN VAN AN|1990-02-30|0|Q|", want: ErrMalformed, msg: "field 3 (NgaySinh, birth date) has no such day"},
	{name: "not a leap year", in: "|NGUYEN VAN AN|1900-02-29|0|Q|", want: ErrMalformed, msg: "no such day"},
	{name: "month 13", in: "|NGUYEN VAN AN|1990-13-**|0|Q|", want: ErrMalformed, msg: "no such month"},
	{name: "dd/mm/yyyy is not this form", in: "|NGUYEN VAN AN|17/05/1990|0|Q|", want: ErrMalformed, msg: "is not YYYY-MM-DD"},
	{name: "empty birth date", in: "|NGUYEN VAN AN||0|Q|", want: ErrMalformed, msg: "NgaySinh"},
	{name: "year 0990", in: "|NGUYEN VAN AN|0990-01-01|0|Q|", want: ErrMalformed, msg: "year before 1800"},
	{name: "LoaiDinhDanh 2", in: "|NGUYEN VAN AN|1990-05-17|2|Q|", want: ErrMalformed, msg: "field 4 (LoaiDinhDanh"},
	{name: "empty name", in: "079090001234| |1990-05-17|0|Q|", want: ErrMalformed, msg: "field 2 (HoTen, name) is empty"},
	// Fields shifted by one: the date lands in HoTen.
	{name: "name with digits", in: "079090001234|1990-05-17|0|Q||", want: ErrMalformed, msg: "holds digits"},
	{name: "masked beyond 6", in: "*******01234|NGUYEN VAN AN|1990-05-17|0|Q|", want: ErrMalformed, msg: "beyond its first 6"},
	{name: "mask in the middle", in: "079***001234|NGUYEN VAN AN|1990-05-17|0|Q|", want: ErrMalformed, msg: "'*' after"},
	{name: "fully masked", in: "******|NGUYEN VAN AN|1990-05-17|0|Q|", want: ErrMalformed, msg: "masked entirely"},
	{name: "10-digit number", in: "0790900012|NGUYEN VAN AN|1990-05-17|0|Q|", want: ErrMalformed, msg: "not a CCCD (12 digits), CMND (9 digits) or passport"},
	{name: "lower-case passport letters", in: "b1234567|NGUYEN VAN AN|1990-05-17|0|Q|", want: ErrMalformed, msg: "capital letters"},
	{name: "control character in QID", in: "|NGUYEN VAN AN|1990-05-17|0|Q\x00|", want: ErrMalformed, msg: "field 5 (QID) holds control characters"},
	{name: "QID too long", in: "|NGUYEN VAN AN|1990-05-17|0|" + strings.Repeat("q", 129) + "|", want: ErrMalformed, msg: "longer than 128"},
	{name: "invalid UTF-8", in: "|NGUYEN VAN \xff|1990-05-17|0|Q|", want: ErrMalformed, msg: "not valid UTF-8"},
	{name: "over 2 KiB", in: "|" + strings.Repeat("A", MaxLen) + "|1990-05-17|0|Q|", want: ErrMalformed, msg: "more than the 2048"},
}

var chipCardCases = []parseCase{
	{name: "seven fields with old CMND",
		in: "079090001234|023456789|Nguyễn Văn An|17051990|Nam|12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh|01082021",
		scan: Scan{Form: FormChipCard, Document: doc(canonical.DocumentCCCD, "079090001234"), FormerCMND: "023456789",
			FullName: "Nguyễn Văn An", BirthDate: bdDay(1990, 5, 17), Gender: canonical.GenderMale}},
	{name: "six fields, no issue date, no old CMND",
		in: "001185000321||Trần Thị Bình|08031985|Nữ|Hà Nội",
		scan: Scan{Form: FormChipCard, Document: doc(canonical.DocumentCCCD, "001185000321"), FullName: "Trần Thị Bình",
			BirthDate: bdDay(1985, 3, 8), Gender: canonical.GenderFemale}},
	// The card's encoder wrote decomposed Vietnamese (NFD): the name comes out NFC.
	{name: "NFD name and gender",
		in: "001185000321||Tra\u0302\u0300n Thi\u0323 Bi\u0300nh|08031985|Nu\u031b\u0303|Ha\u0300 No\u0302\u0323i|01012022",
		scan: Scan{Form: FormChipCard, Document: doc(canonical.DocumentCCCD, "001185000321"), FullName: "Trần Thị Bình",
			BirthDate: bdDay(1985, 3, 8), Gender: canonical.GenderFemale}},
	{name: "12-digit old CMND", in: "079090001234|123456789012|Nguyễn Văn An|17051990|Nam|HCM|",
		scan: Scan{Form: FormChipCard, Document: doc(canonical.DocumentCCCD, "079090001234"), FormerCMND: "123456789012",
			FullName: "Nguyễn Văn An", BirthDate: bdDay(1990, 5, 17), Gender: canonical.GenderMale}},
	{name: "scanner newline and spaces trimmed", in: " 079090001234||Nguyễn Văn An|17051990|Nam|HCM|01082021\r\n",
		scan: Scan{Form: FormChipCard, Document: doc(canonical.DocumentCCCD, "079090001234"),
			FullName: "Nguyễn Văn An", BirthDate: bdDay(1990, 5, 17), Gender: canonical.GenderMale}},

	{name: "eight fields", in: "079090001234||Nguyễn Văn An|17051990|Nam|HCM|01082021|x", want: ErrMalformed, msg: "found 8 fields"},
	{name: "five fields", in: "079090001234||Nguyễn Văn An|17051990|Nam", want: ErrMalformed, msg: "found 5 fields"},
	{name: "11-digit CCCD", in: "07909000123||Nguyễn Văn An|17051990|Nam|HCM|01082021", want: ErrMalformed, msg: "field 1 (soCCCD, card number) is not 12 digits"},
	{name: "old CMND of 10 digits", in: "079090001234|0234567890|Nguyễn Văn An|17051990|Nam|HCM|01082021", want: ErrMalformed, msg: "field 2 (soCMNDcu"},
	{name: "birth date yyyy-mm-dd", in: "079090001234||Nguyễn Văn An|1990-05-17|Nam|HCM|01082021", want: ErrMalformed, msg: "field 4 (ngaySinh, birth date) is not 8 digits ddMMyyyy"},
	{name: "birth date 31 April", in: "079090001234||Nguyễn Văn An|31041990|Nam|HCM|01082021", want: ErrMalformed, msg: "no such day"},
	{name: "gender unknown word", in: "079090001234||Nguyễn Văn An|17051990|M|HCM|01082021", want: ErrMalformed, msg: "field 5 (gioiTinh, gender) is not Nam or Nữ"},
	{name: "issue date broken", in: "079090001234||Nguyễn Văn An|17051990|Nam|HCM|2021-08-01", want: ErrMalformed, msg: "field 7 (ngayCap"},
	{name: "empty name", in: "079090001234|||17051990|Nam|HCM|01082021", want: ErrMalformed, msg: "field 3 (hoTen, name) is empty"},
	{name: "control character in address", in: "079090001234||Nguyễn Văn An|17051990|Nam|H\x07CM|01082021", want: ErrMalformed, msg: "field 6 (diaChi, address) holds control characters"},
}

func checkCase(t *testing.T, tt parseCase, sc Scan, err error) {
	t.Helper()
	if tt.want == nil {
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if fmt.Sprintf("%+v", sc) != fmt.Sprintf("%+v", tt.scan) {
			t.Errorf("scan\n got %+v\nwant %+v", sc, tt.scan)
		}
		return
	}
	if !errors.Is(err, tt.want) || !errs.Is(err, errs.Invalid) {
		t.Fatalf("error %v (kind %v), want %v of kind invalid", err, errs.KindOf(err), tt.want)
	}
	if !strings.Contains(err.Error(), tt.msg) {
		t.Errorf("error %q does not say %q", err, tt.msg)
	}
	noPersonalData(t, err, tt.in)
}

// noPersonalData fails when an error message repeats a field of the input (a name, a number,
// a date) longer than 3 characters.
func noPersonalData(t *testing.T, err error, in string) {
	t.Helper()
	for _, f := range strings.Split(in, "|") {
		for _, w := range strings.FieldsFunc(f, func(r rune) bool { return r == ' ' || r == ';' || r == ',' }) {
			if len([]rune(w)) > 3 && strings.Contains(err.Error(), w) {
				t.Errorf("error %q repeats input %q", err, w)
			}
		}
	}
}

func TestParsePersonal1405(t *testing.T) {
	for _, tt := range personal1405Cases {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := ParsePersonal1405(tt.in)
			checkCase(t, tt, sc, err)
		})
	}
}

func TestParseChipCard(t *testing.T) {
	for _, tt := range chipCardCases {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := ParseChipCard(tt.in)
			checkCase(t, tt, sc, err)
		})
	}
}

// Parse finds the form itself and gives what the form's parser gives.
func TestParseDetectsForm(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	keys := Keys{"k2026-11": s.PublicKey()}
	now := issued.Add(time.Hour)
	signedTok := token
	signedTok.KeyID = "k2026-11"
	tests := []parseCase{
		{name: "signed", in: s.Sign(token), scan: Scan{Form: FormSigned, QRID: testQRID, Token: signedTok}},
		{name: "signed with scanner newline", in: s.Sign(token) + "\n", scan: Scan{Form: FormSigned, QRID: testQRID, Token: signedTok}},
		{name: "signed, expired", in: testSigner(t, "k2026-11", 1).Sign(Token{QRID: testQRID, IssuedAt: issued.Add(-73 * time.Hour), ExpiresAt: issued.Add(-time.Hour)}), want: ErrExpired, msg: "expired"},
		{name: "signed, forged", in: testSigner(t, "k2026-11", 9).Sign(token), want: ErrBadSignature, msg: "forged"},
		{name: "signed, unknown key", in: testSigner(t, "k1999", 1).Sign(token), want: ErrUnknownKey, msg: "k1999"},
		{name: "signed, future version", in: "LT2.AAAA", want: ErrMalformed, msg: "unsupported version"},
		{name: "bare QR id", in: testQRID, scan: Scan{Form: FormQRID, QRID: testQRID}},
		// Typed by an operator from a printout in capitals.
		{name: "bare QR id in upper case", in: strings.ToUpper(testQRID), scan: Scan{Form: FormQRID, QRID: testQRID}},
		{name: "1405", in: personal1405Cases[0].in, scan: personal1405Cases[0].scan},
		// A 1405 QR with an unmasked CCCD and 6 fields is still 1405: its 4th field is 0 or 1.
		{name: "1405 with unmasked CCCD", in: "079090001234|NGUYEN VAN AN|1990-05-17|1|Q|",
			scan: Scan{Form: FormPersonal1405, Document: doc(canonical.DocumentCCCD, "079090001234"), FullName: "NGUYEN VAN AN", BirthDate: bdDay(1990, 5, 17), OnBehalf: true, QID: "Q"}},
		{name: "chip card", in: chipCardCases[0].in, scan: chipCardCases[0].scan},
		{name: "chip card, six fields", in: chipCardCases[1].in, scan: chipCardCases[1].scan},
		// A broken chip card is reported in the chip card's terms, not as a bad 1405 QR.
		{name: "chip card with a bad date", in: "079090001234||Nguyễn Văn An|1990-05-17|Nam|HCM|01082021", want: ErrMalformed, msg: "ngaySinh"},
		{name: "byte-order mark and spaces", in: "\ufeff " + testQRID + " \r\n", scan: Scan{Form: FormQRID, QRID: testQRID}},
		{name: "a phone number is not a QR", in: "0912345678", want: ErrMalformed, msg: "not a QR code the gateway knows"},
		{name: "a URL is not a QR we know", in: "https://example.vn/x", want: ErrMalformed, msg: "not a QR code the gateway knows"},
		{name: "empty", in: " \n", want: ErrMalformed, msg: "empty"},
		{name: "invalid UTF-8", in: "\xc3\x28", want: ErrMalformed, msg: "UTF-8"},
		{name: "too long", in: strings.Repeat("a", MaxLen+1), want: ErrMalformed, msg: "2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse(tt.in, keys, now)
			checkCase(t, tt, sc, err)
		})
	}
}

// A checkpoint configured without keys cannot verify, and says so instead of failing oddly.
func TestParseSignedWithoutKeys(t *testing.T) {
	qr := testSigner(t, "k2026-11", 1).Sign(token)
	if _, err := Parse(qr, nil, issued); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Parse with nil keys: %v, want ErrUnknownKey", err)
	}
	if _, err := Parse(qr, Keys(nil), issued); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Parse with an empty key map: %v, want ErrUnknownKey", err)
	}
}

// Every case's outcome in one file, so a reviewer reads the operator's messages at a glance.
func TestParseMessagesGolden(t *testing.T) {
	var b strings.Builder
	for _, group := range []struct {
		name  string
		cases []parseCase
	}{{"1405", personal1405Cases}, {"chipcard", chipCardCases}} {
		for _, tt := range group.cases {
			sc, err := Parse(tt.in, nil, issued)
			if err != nil {
				fmt.Fprintf(&b, "%s / %s:\n\terror: %v\n", group.name, tt.name, err)
				continue
			}
			fmt.Fprintf(&b, "%s / %s:\n\t%s %s doc=%s %q masked=%v former=%q name=%q born=%s gender=%s onbehalf=%v qid=%q phone=%q\n",
				group.name, tt.name, sc.Form, sc.QRID, sc.Document.Type, sc.Document.Number, sc.DocumentMasked, sc.FormerCMND,
				sc.FullName, sc.BirthDate, sc.Gender, sc.OnBehalf, sc.QID, sc.Phone)
		}
	}
	golden(t, "parse.golden", b.String())
}

func TestFormatPersonal1405(t *testing.T) {
	tests := []struct {
		name string
		scan Scan
		want string
	}{
		{"full", Scan{Document: doc(canonical.DocumentCCCD, MaskDocumentNumber("079090001234")), FullName: "Nguyễn Văn Đức",
			BirthDate: bdDay(1990, 5, 17), Gender: canonical.GenderMale, QID: "Q1", Phone: "0912345678"},
			"******001234|NGUYEN VAN DUC|1990-05-17|0|Q1|1;0912345678"},
		{"year only, on behalf, QR id as QID, no EXT", Scan{FullName: "Trần Thị Thuý", BirthDate: bdYear(2015), OnBehalf: true, QRID: testQRID},
			"|TRAN THI THUY|2015-00-00|1|" + testQRID + "|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatPersonal1405(tt.scan); got != tt.want {
				t.Errorf("FormatPersonal1405 = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMaskDocumentNumber(t *testing.T) {
	for in, want := range map[string]string{
		"079090001234": "******001234",
		"123456789":    "******789",
		"B1234567":     "*****567", // at least 3 characters stay readable
		"******001234": "******001234",
		"1234":         "*234",
		"123":          "123",
		"":             "",
	} {
		if got := MaskDocumentNumber(in); got != want {
			t.Errorf("MaskDocumentNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// A chip card scan gives the identity the person's declarations have; a masked 1405 number
// gives none (it would be someone else's key).
func TestScanPersonIdentity(t *testing.T) {
	chip, err := ParseChipCard(chipCardCases[0].in)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := identity.KeyOf(chip.Person())
	if !ok || k.String() != "cccd:079090001234" {
		t.Errorf("chip card key = %v, %v", k, ok)
	}
	if a := identity.AliasKeys(chip.Person()); len(a) != 1 || a[0].String() != "cmnd:023456789" {
		t.Errorf("chip card aliases = %v", a)
	}
	masked, err := ParsePersonal1405(personal1405Cases[0].in)
	if err != nil {
		t.Fatal(err)
	}
	if p := masked.Person(); p.Document != (canonical.Document{}) || p.FullName != "NGUYEN VAN AN" || p.Phone != "0912345678" {
		t.Errorf("masked 1405 person = %+v", p)
	}
	unmasked, _ := ParsePersonal1405("079090001234|NGUYEN VAN AN|1990-05-17|0|Q|")
	if k, ok := identity.KeyOf(unmasked.Person()); !ok || k.Kind != identity.KindCCCD {
		t.Errorf("unmasked 1405 key = %v, %v", k, ok)
	}
}
