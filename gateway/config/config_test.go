package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// File < environment < flags: each layer overrides the one before it.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lienthong.json")
	if err := os.WriteFile(file, []byte(`{"grpc_addr": "127.0.0.1:9000", "http_addr": "127.0.0.1:9001", "qr_validity": "24h", "data_dir": "/from/file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LIENTHONG_HTTP_ADDR": "127.0.0.1:9101", "LIENTHONG_DATA_DIR": "/from/env"}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--data-dir", "/from/flag", "--ncovi", "--ncovi-url", "http://127.0.0.1:1", "--ncovi-token", "t", "--ncovi-timeout", "90s"}); err != nil {
		t.Fatal(err)
	}
	if c.NCOVI.Timeout.Duration != 90*time.Second || c.Tokhaiyte.Timeout.Duration != 2*time.Minute {
		t.Fatalf("timeouts: ncovi %s (flag 90s), tokhaiyte %s (default 2m)", c.NCOVI.Timeout, c.Tokhaiyte.Timeout)
	}
	if !c.NCOVI.Enabled {
		t.Fatal("--ncovi alone did not switch NCOVI on")
	}
	if c.GRPCAddr != "127.0.0.1:9000" || c.HTTPAddr != "127.0.0.1:9101" || c.DataDir != "/from/flag" || c.QRValidity.Duration != 24*time.Hour {
		t.Fatalf("got grpc %s http %s data %s validity %s", c.GRPCAddr, c.HTTPAddr, c.DataDir, c.QRValidity)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid configuration refused: %v", err)
	}
}

func TestLoadFileRejectsUnknownKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(file, []byte(`{"grpc_adr": "x"}`), 0o600)
	c := Default()
	err := c.LoadFile(file)
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "grpc_adr") {
		t.Fatalf("got %v, want an invalid error naming the misspelt key", err)
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := Default()
	c.LogFormat = "xml"
	c.NCOVI.Enabled = true
	c.Bluezone.Enabled = true
	c.Bluezone.Secret = "short"
	c.Tokhaiyte.Timeout.Duration = -time.Second
	err := c.Validate()
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("got %v, want invalid", err)
	}
	for _, want := range []string{"log_format", "ncovi.base_url", "bluezone.secret", "tokhaiyte.timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestEnvBadValueIsNamed(t *testing.T) {
	c := Default()
	err := c.ApplyEnv(func(k string) (string, bool) {
		if k == "LIENTHONG_QR_VALIDITY" {
			return "three days", true
		}
		return "", false
	})
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "LIENTHONG_QR_VALIDITY") {
		t.Fatalf("got %v", err)
	}
}
