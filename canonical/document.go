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
	var buf [16]byte
	n := 0
	letters, digits := 0, 0
	for _, r := range number {
		switch {
		case r == ' ' || r == '.' || r == '-' || (r >= utf8.RuneSelf && unicode.IsSpace(r)) || (r >= '\t' && r <= '\r'):
			continue
		case n == len(buf):
			return Document{Number: number}
		case r >= '0' && r <= '9':
			digits++
		case r >= 'A' && r <= 'Z':
			if digits > 0 {
				return Document{Number: number}
			}
			letters++
		case r >= 'a' && r <= 'z':
			if digits > 0 {
				return Document{Number: number}
			}
			letters++
			r -= 'a' - 'A'
		default:
			return Document{Number: number}
		}
		buf[n] = byte(r)
		n++
	}
	switch {
	case n == 0:
		return Document{}
	case letters == 0 && n == 12:
		return Document{Type: DocumentCCCD, Number: string(buf[:n])}
	case letters == 0 && n == 9:
		return Document{Type: DocumentCMND, Number: string(buf[:n])}
	case letters > 0 && digits > 0 && n >= 6 && n <= 9:
		return Document{Type: DocumentPassport, Number: string(buf[:n])}
	}
	return Document{Number: number}
}
