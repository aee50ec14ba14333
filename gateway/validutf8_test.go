package gateway

import (
	"testing"

	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestValidUTF8 pins that a rejection holding text that is not UTF-8 (as the Redis store keeps
// it) marshals, with U+FFFD in place of the bad bytes, in nested and repeated fields.
func TestValidUTF8(t *testing.T) {
	rej := &lienthongv1.Rejection{
		Declaration: &lienthongv1.Declaration{
			Person: &lienthongv1.Person{FullName: "TR\xffN AN"},
			Health: &lienthongv1.Health{Symptoms: []string{"fever", "co\xfeugh"}},
		},
		Violations: []*lienthongv1.Violation{{Field: "person.full_name", Reason: "invalid_utf8", Message: "the text is not valid UTF-8"}},
	}
	if _, err := proto.Marshal(rej); err == nil {
		t.Fatal("the test's rejection marshals before validUTF8: it shows nothing")
	}
	validUTF8(rej.ProtoReflect())
	if _, err := proto.Marshal(rej); err != nil {
		t.Fatalf("after validUTF8: %v", err)
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
