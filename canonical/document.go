package canonical

import (
	"unicode"
	"unicode/utf8"
)

// ClassifyDocument classifies an identity document number by its shape, after removing
// spaces, dots and dashes: 12 digits is a CCCD (12-digit CMNDs existed too, but cannot be told
// apart and are rarer), 9 digits a CMND, one or more letters followed by digits (6 to 9
// characters) a passport, upper-cased. Anything else keeps DocumentNone and the number as
// given, for Validate to report; an empty or blank number gives the zero Document.
func ClassifyDocument(number string) Document {
	t, buf, n := classifyDocument(number)
	switch {
	case n == 0:
		return Document{}
	case t == DocumentNone:
		return Document{Number: number}
	case string(buf[:n]) == number:
		return Document{Type: t, Number: number} // already in form: no copy
	}
	return Document{Type: t, Number: string(buf[:n])}
}

// classifyDocument is ClassifyDocument without allocating: the type and the cleaned number in
// buf[:n] (n is 0 for a blank number; buf is meaningless for DocumentNone).
func classifyDocument(number string) (t DocumentType, buf [16]byte, n int) {
	none := func() (DocumentType, [16]byte, int) { return DocumentNone, buf, len(number) }
	letters, digits := 0, 0
	for _, r := range number {
		switch {
		case r == ' ' || r == '.' || r == '-' || (r >= utf8.RuneSelf && unicode.IsSpace(r)) || (r >= '\t' && r <= '\r'):
			continue
		case n == len(buf):
			return none()
		case r >= '0' && r <= '9':
			digits++
		case r >= 'A' && r <= 'Z':
			if digits > 0 {
				return none()
			}
			letters++
		case r >= 'a' && r <= 'z':
			if digits > 0 {
				return none()
			}
			letters++
			r -= 'a' - 'A'
		default:
			return none()
		}
		buf[n] = byte(r)
		n++
	}
	switch {
	case n == 0:
		return DocumentNone, buf, 0
	case letters == 0 && n == 12:
		return DocumentCCCD, buf, n
	case letters == 0 && n == 9:
		return DocumentCMND, buf, n
	case letters > 0 && digits > 0 && n >= 6 && n <= 9:
		return DocumentPassport, buf, n
	}
	return none()
}
