package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

var (
	keysListCommand = subcommand{
		name:    "keys list",
		summary: "List the public keys that verify the gateway's signed QRs, newest first (any token, or none).",
		example: "lienthong keys list -o json",
	}
	keysRotateCommand = subcommand{
		name:    "keys rotate",
		summary: "Make a new QR signing key; the old one verifies until its QRs expire (ministry token).",
		example: `lienthong keys rotate --token "$MINISTRY_TOKEN" --reason "scheduled quarterly rotation"`,
	}
)

func runKeys(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stderr, "Usage: lienthong keys list|rotate [flags]\n\nList or rotate the QR signing keys.\n\nExample:\n  lienthong keys list\n  lienthong keys rotate --reason \"suspected compromise\"")
			return exitOK
		}
		fmt.Fprintln(stderr, "lienthong keys: say list or rotate (lienthong keys list --help)")
		return exitUsage
	}
	sc := keysListCommand
	if args[0] == "rotate" {
		sc = keysRotateCommand
	}
	var cf clientFlags
	fs := newFlagSet(sc, stderr)
	cf.register(fs, "table", "json")
	reason := ""
	if args[0] == "rotate" {
		fs.StringVar(&reason, "reason", "", "why the key is rotated, for the gateway's log")
	}
	pos, code := parseArgs(fs, args[1:])
	if code >= 0 {
		return code
	}
	if msg := cf.check(); msg != "" {
		return usageError(stderr, sc.name, "%s", msg)
	}
	if len(pos) != 0 {
		return usageError(stderr, sc.name, "unexpected argument %q", pos[0])
	}
	conn, err := cf.dial()
	if err != nil {
		return usageError(stderr, sc.name, "%v", err)
	}
	defer conn.Close()
	ctx, cancel := cf.callContext(context.Background())
	defer cancel()
	client := lienthongv1.NewKeysServiceClient(conn)
	var keys []*lienthongv1.PublicKey
	if args[0] == "list" {
		resp, err := client.ListKeys(ctx, &lienthongv1.ListKeysRequest{})
		if err != nil {
			return cf.rpcFailed(stderr, sc.name, err)
		}
		if cf.output == "json" {
			return finish(stderr, sc.name, writeJSON(stdout, resp))
		}
		keys = resp.GetKeys()
	} else {
		resp, err := client.RotateKey(ctx, &lienthongv1.RotateKeyRequest{Reason: reason})
		if err != nil {
			return cf.rpcFailed(stderr, sc.name, err)
		}
		if cf.output == "json" {
			return finish(stderr, sc.name, writeJSON(stdout, resp))
		}
		fmt.Fprintf(stdout, "New signing key: %s\n\n", resp.GetKey().GetKeyId())
		keys = resp.GetKeys()
	}
	t := newTable(stdout, "KEY ID", "CURRENT", "NOT BEFORE", "RETIRED", "VERIFIES UNTIL", "PUBLIC KEY (base64url)")
	for _, k := range keys {
		cur := "no"
		if k.GetCurrent() {
			cur = "yes"
		}
		t.Row(k.GetKeyId(), cur, fmtTime(k.GetNotBefore()), orDash(fmtTime(k.GetRetiredAt())), orDash(fmtTime(k.GetNotAfter())),
			base64.RawURLEncoding.EncodeToString(k.GetPublicKey()))
	}
	return finish(stderr, sc.name, t.Flush())
}

// finish turns an output error into exit code 1 with a message.
func finish(stderr io.Writer, name string, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "lienthong %s: writing the output: %v\n", name, err)
		return exitFail
	}
	return exitOK
}
