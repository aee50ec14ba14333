package gateway

import (
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestValidUTF8 pins that a rejection holding text that is not UTF-8 (as the Redis store keeps
// it) is answered with U+FFFD in place of the bad bytes, in nested and repeated fields, so that
// a client decoding with a proto3 copy of the contract (which checks UTF-8) can read it.
func TestValidUTF8(t *testing.T) {
	rej := &lienthongv1.Rejection{
		Declaration: &lienthongv1.Declaration{
			Person: &lienthongv1.Person{FullName: "TR\xffN AN"},
			Health: &lienthongv1.Health{Symptoms: []string{"fever", "co\xfeugh"}},
		},
		Violations: []*lienthongv1.Violation{{Field: "person.full_name", Reason: "invalid_utf8", Message: "the text is not valid UTF-8"}},
	}
	if validText(rej.ProtoReflect()) {
		t.Fatal("the test's rejection is UTF-8 before validUTF8: it shows nothing")
	}
	validUTF8(rej.ProtoReflect())
	if !validText(rej.ProtoReflect()) {
		t.Fatalf("after validUTF8, text that is not UTF-8 is left: %v", rej)
	}
	if got := rej.GetDeclaration().GetPerson().GetFullName(); got != "TR\uFFFDN AN" {
		t.Errorf("full_name %q", got)
	}
	if got := rej.GetDeclaration().GetHealth().GetSymptoms(); got[0] != "fever" || got[1] != "co\uFFFDugh" {
		t.Errorf("symptoms %q", got)
	}
	if got := rej.GetViolations()[0].GetMessage(); got != "the text is not valid UTF-8" {
		t.Errorf("valid text changed: %q", got)
	}
}

// validText reports whether every string in m, recursively, is UTF-8: what a proto3 decoder
// checks.
func validText(m protoreflect.Message) bool {
	ok := true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				e := v.List().Get(i)
				if fd.Kind() == protoreflect.StringKind {
					ok = ok && utf8.ValidString(e.String())
				} else if fd.Message() != nil {
					ok = ok && validText(e.Message())
				}
			}
		case fd.Kind() == protoreflect.StringKind:
			ok = ok && utf8.ValidString(v.String())
		case fd.Message() != nil && !fd.IsMap():
			ok = ok && validText(v.Message())
		}
		return ok
	})
	return ok
}
