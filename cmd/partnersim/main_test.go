package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunServesUntilCancelled runs the command as main does: it prints the partners' URLs,
// writes the ground truth, serves the feed, and returns when its context ends.
func TestRunServesUntilCancelled(t *testing.T) {
	truth := filepath.Join(t.TempDir(), "truth.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--people", "100", "--declarations", "300", "--seed", "3",
			"--ncovi-token", "tok", "--tokhaiyte-key", "key", "--ground-truth", truth, "--ncovi-down", "+1h,+2h"}, outW, io.Discard)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, outR)
	var started struct {
		NCOVI        string `json:"ncovi"`
		Tokhaiyte    string `json:"tokhaiyte"`
		Registry     string `json:"registry"`
		Declarations int    `json:"declarations"`
	}
	if err := json.Unmarshal([]byte(line), &started); err != nil || started.Declarations != 300 || !strings.HasPrefix(started.NCOVI, "http://127.0.0.1:") {
		t.Fatalf("start line %q: %v", line, err)
	}
	req, _ := http.NewRequest(http.MethodGet, started.NCOVI+"/api/v1/declarations?limit=3", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("feed: %s", resp.Status)
	}
	if b, err := os.ReadFile(truth); err != nil || !strings.Contains(string(b), `"type":"summary"`) {
		t.Errorf("ground truth file: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no credentials", nil, "--ncovi-token and --tokhaiyte-key are required"},
		{"push without secret", []string{"--ncovi-token", "a", "--tokhaiyte-key", "b", "--push-to", "http://127.0.0.1:1"}, "--push-to needs --bluezone-secret"},
		{"bad down window", []string{"--ncovi-token", "a", "--tokhaiyte-key", "b", "--tokhaiyte-down", "+5m,+1m"}, "UNTIL must be after FROM"},
		{"bad epoch", []string{"--ncovi-token", "a", "--tokhaiyte-key", "b", "--epoch", "yesterday"}, "--epoch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PARTNERSIM_NCOVI_TOKEN", "")
			t.Setenv("PARTNERSIM_TOKHAIYTE_KEY", "")
			t.Setenv("PARTNERSIM_BLUEZONE_SECRET", "")
			_, err := parseFlags(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseWindow(t *testing.T) {
	start := time.Date(2021, 8, 16, 0, 0, 0, 0, time.UTC)
	from, until, err := parseWindow("+1m,2021-08-16T01:00:00Z", start)
	if err != nil || !from.Equal(start.Add(time.Minute)) || !until.Equal(start.Add(time.Hour)) {
		t.Errorf("got %v %v %v", from, until, err)
	}
}
