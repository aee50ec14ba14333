package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/config"
	"github.com/lienthong/lienthong/gateway/keys"
)

// A gateway started on a store with another identity secret than the one its QR ids came from
// refuses to start, saying which file to share; with the original secret back, it starts.
func TestServeRefusesAnotherIdentitySecret(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RetentionDays = 0
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func() error {
		gw, err := startGateway(context.Background(), cfg, log)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return gw.Shutdown(ctx)
	}
	if err := start(); err != nil {
		t.Fatalf("first start: %v", err)
	}
	path := filepath.Join(cfg.DataDir, keys.IdentitySecretFile)
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other := base64.StdEncoding.EncodeToString([]byte("a secret another replica generated!!")) + "\n"
	if err := os.WriteFile(path, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	err = start()
	if !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), keys.IdentitySecretFile) {
		t.Fatalf("start with another secret: got %v, want a conflict naming %s", err, keys.IdentitySecretFile)
	}
	if err := os.WriteFile(path, original, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := start(); err != nil {
		t.Fatalf("start with the original secret back: %v", err)
	}
}
