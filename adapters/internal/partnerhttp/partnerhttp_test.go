package partnerhttp

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{" 0 ", 0, true},
		{"Sun, 15 Aug 2021 09:01:30 GMT", 90 * time.Second, true},
		// A date already past means: now.
		{"Sun, 15 Aug 2021 08:00:00 GMT", 0, true},
		// A partner's typo must not stop the feed for years: at most a day.
		{"99999999", 24 * time.Hour, true},
		{"Fri, 15 Aug 2031 09:00:00 GMT", 24 * time.Hour, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
