package canonical

import "testing"

func TestClassifyDocument(t *testing.T) {
	tests := []struct {
		name, in string
		want     Document
	}{
		{"CCCD", "079090001234", Document{DocumentCCCD, "079090001234"}},
		{"CCCD with spaces", " 079 090 001 234 ", Document{DocumentCCCD, "079090001234"}},
		{"CCCD with dots and dashes", "079.090-001.234", Document{DocumentCCCD, "079090001234"}},
		{"CMND", "025123456", Document{DocumentCMND, "025123456"}},
		// 12-digit CMNDs existed, but cannot be told from a CCCD by shape.
		{"12-digit CMND reads as CCCD", "012345678901", Document{DocumentCCCD, "012345678901"}},
		{"Vietnamese passport", "B1234567", Document{DocumentPassport, "B1234567"}},
		{"passport lower case", "c 0123 456", Document{DocumentPassport, "C0123456"}},
		{"passport two letters", "AB123456", Document{DocumentPassport, "AB123456"}},
		{"passport shortest", "A12345", Document{DocumentPassport, "A12345"}},
		{"passport too long", "AB12345678", Document{DocumentNone, "AB12345678"}},
		{"passport too short", "A1234", Document{DocumentNone, "A1234"}},
		{"letters after digits", "1234567AB", Document{DocumentNone, "1234567AB"}},
		{"10 digits", "0123456789", Document{DocumentNone, "0123456789"}},
		{"letters only", "ABCDEFG", Document{DocumentNone, "ABCDEFG"}},
		{"other characters", "0790/90001234", Document{DocumentNone, "0790/90001234"}},
		{"diacritics", "Đ1234567", Document{DocumentNone, "Đ1234567"}},
		{"empty", "", Document{}},
		{"blank", " - . ", Document{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClassifyDocument(tt.in)
			if got != tt.want {
				t.Errorf("ClassifyDocument(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if again := ClassifyDocument(got.Number); again != got {
				t.Errorf("not idempotent: %+v then %+v", got, again)
			}
		})
	}
}
