package main

import (
	"strings"
	"testing"
)

// TestUsageErrorsExit2 checks that every command-line mistake exits 2 with a message, before
// anything is dialled (the address is never listened on).
func TestUsageErrorsExit2(t *testing.T) {
	addr := "--addr=127.0.0.1:1"
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"lookup without QR", []string{"lookup", addr}, "exactly one QR string"},
		{"lookup two QRs", []string{"lookup", addr, "a", "b"}, "exactly one QR string"},
		{"lookup unknown flag", []string{"lookup", "--colour", "x"}, "flag provided but not defined"},
		{"lookup csv", []string{"lookup", "-o", "csv", "x"}, `-o "csv"`},
		{"bad timeout", []string{"lookup", "--timeout", "-1s", "x"}, "--timeout must be positive"},
		{"cert without key", []string{"lookup", "--tls-cert", "c.pem", "x"}, "go together"},
		{"qr not a QR id", []string{"qr", addr, "ABC"}, "is not a QR id"},
		{"qr small png", []string{"qr", addr, "--size", "100", strings.Repeat("a", 24)}, "at least 256"},
		{"import no platform", []string{"import", addr, "f.csv"}, "--platform"},
		{"import bad platform", []string{"import", addr, "--platform", "zalo", "f.csv"}, "--platform \"zalo\""},
		{"import no file", []string{"import", addr, "--platform", "ncovi"}, "exactly one export FILE"},
		{"import big chunk", []string{"import", addr, "--platform", "ncovi", "--chunk", "5000", "f"}, "--chunk 5000"},
		{"audit nothing", []string{"audit"}, "Subcommands:"},
		{"audit unknown", []string{"audit", "everything"}, "Subcommands:"},
		{"audit stats bad day", []string{"audit", "stats", addr, "--from", "15/08/2021"}, "YYYY-MM-DD"},
		{"audit stats from after to", []string{"audit", "stats", addr, "--from", "2021-08-02", "--to", "2021-08-01"}, "is after"},
		{"audit stats province", []string{"audit", "stats", addr, "--province", "HCM"}, "2-digit"},
		{"audit page size", []string{"audit", "rejections", addr, "--page-size", "5000"}, "between 1 and 1000"},
		{"audit field", []string{"audit", "inconsistencies", addr, "--field", "email"}, "--field"},
		{"audit half a pair", []string{"audit", "inconsistencies", addr, "--platform-a", "ncovi"}, "go together"},
		{"history without reason", []string{"audit", "history", addr, strings.Repeat("a", 24)}, "--reason is required"},
		{"history without QR id", []string{"audit", "history", addr, "--reason", "x"}, "exactly 1 argument"},
		{"keys nothing", []string{"keys"}, "list or rotate"},
		{"keys list argument", []string{"keys", "list", addr, "extra"}, "unexpected argument"},
		{"token nothing", []string{"token"}, "create"},
		{"token no role", []string{"token", "create", "--id", "x"}, "--role is required"},
		{"token bad role", []string{"token", "create", "--role", "admin", "--id", "x"}, "partner, checkpoint or ministry"},
		{"token partner without platform", []string{"token", "create", "--role", "partner", "--id", "x"}, "platform is required"},
		{"token checkpoint without station", []string{"token", "create", "--role", "checkpoint", "--id", "x", "--province", "79"}, "station"},
		{"token bad province", []string{"token", "create", "--role", "checkpoint", "--id", "x", "--station", "s", "--province", "7"}, "2-digit"},
		// A ministry sees every area: an area on its token would suggest otherwise.
		{"token ministry with area", []string{"token", "create", "--role", "ministry", "--id", "x", "--province", "79"}, "checkpoints only"},
		{"token no id", []string{"token", "create", "--role", "ministry"}, "--id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
		})
	}
}

// TestHelp checks that every subcommand answers --help with exit 0, a description and an
// example.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"lookup", "--help"}, {"qr", "-h"}, {"import", "--help"}, {"audit", "stats", "--help"},
		{"audit", "inconsistencies", "--help"}, {"audit", "history", "--help"}, {"audit", "access-log", "--help"},
		{"audit", "rejections", "--help"}, {"keys", "list", "--help"}, {"keys", "rotate", "--help"}, {"token", "create", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, errOut := run(t, args...)
			if code != exitOK {
				t.Errorf("exit %d", code)
			}
			if !strings.Contains(errOut, "Usage: lienthong "+args[0]) || !strings.Contains(errOut, "Example:\n  lienthong "+args[0]) {
				t.Errorf("help:\n%s", errOut)
			}
		})
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	var cf clientFlags
	fs := newFlagSet(lookupCommand, &strings.Builder{})
	cf.register(fs, "table", "json")
	pos, code := parseArgs(fs, []string{"--addr", "h:1", "QR1", "-o", "json", "--", "-QR2"})
	if code != -1 || cf.addr != "h:1" || cf.output != "json" || strings.Join(pos, " ") != "QR1 -QR2" {
		t.Errorf("pos %q code %d addr %q output %q", pos, code, cf.addr, cf.output)
	}
}

// TestHelpNeverShowsTheToken: the token from the environment is a secret; --help must not
// print it as a default.
func TestHelpNeverShowsTheToken(t *testing.T) {
	t.Setenv("LIENTHONG_TOKEN", "s3cret-token-value")
	_, _, errOut := run(t, "lookup", "--help")
	if strings.Contains(errOut, "s3cret") {
		t.Errorf("help shows the token:\n%s", errOut)
	}
}
