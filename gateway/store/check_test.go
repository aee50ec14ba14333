package store

import (
	"strings"
	"testing"

	"github.com/lienthong/lienthong/canonical"
)

func TestItemCheck(t *testing.T) {
	good := decl(canonical.PlatformNCOVI, "n-1", 0, "v1")
	long := good
	long.Source.RecordID = strings.Repeat("x", MaxKeyLen)
	tests := []struct {
		name string
		it   Item
		want string // "" for no error, else a part of the message
	}{
		{"accepted", Item{Accepted: &Accepted{Declaration: good, QRID: "q1", Aliases: []string{"w1"}}}, ""},
		{"rejected", Item{Rejected: &Rejected{Declaration: good}}, ""},
		{"neither", Item{}, "exactly one"},
		{"both", Item{Accepted: &Accepted{Declaration: good, QRID: "q1"}, Rejected: &Rejected{Declaration: good}}, "exactly one"},
		{"no qrid", Item{Accepted: &Accepted{Declaration: good}}, "accepted.qrid: required"},
		// Stores separate QR ids from the rest of a key with NUL.
		{"NUL in qrid", Item{Accepted: &Accepted{Declaration: good, QRID: "q\x001"}}, "accepted.qrid: contains a NUL"},
		{"NUL in an alias", Item{Accepted: &Accepted{Declaration: good, QRID: "q1", Aliases: []string{"ok", "w\x00"}}}, "accepted.aliases[1]"},
		// A partner's absurdly long record id must not reach a store's keys, even rejected.
		{"record id too long", Item{Rejected: &Rejected{Declaration: long}}, "source:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.it.Check()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
