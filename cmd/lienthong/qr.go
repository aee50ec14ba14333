package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/lienthong/lienthong/canonical/identity"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

var qrCommand = subcommand{
	name:    "qr",
	args:    "<QR id> | --record-id <id> | --subject-id <id>",
	summary: "Issue a person's signed QR again, for a partner app to show (partner token), by QR id or by your platform's declaration or account id; --png writes an image a phone can scan.",
	example: `lienthong qr --token "$PARTNER_TOKEN" --png an.png abcdefghijklmnopqrstuvwx`,
}

// minPNGSize is the smallest image written: smaller ones do not scan reliably off a screen.
const minPNGSize = 256

func runQR(args []string, stdout, stderr io.Writer) int {
	var cf clientFlags
	fs := newFlagSet(qrCommand, stderr)
	cf.register(fs, "table", "json")
	png := fs.String("png", "", "also write the QR code as a PNG image to this file")
	recordID := fs.String("record-id", "", "name the person by one of their declarations on your platform (its record id) instead of a QR id")
	subjectID := fs.String("subject-id", "", "name the person by their account on your platform (BluezoneId, NCOVI account_id); a family account gives the person of its latest declaration")
	size := fs.Int("size", 512, fmt.Sprintf("the PNG's width and height in pixels (at least %d)", minPNGSize))
	pos, code := parseArgs(fs, args)
	if code >= 0 {
		return code
	}
	if msg := cf.check(); msg != "" {
		return usageError(stderr, "qr", "%s", msg)
	}
	named := len(pos)
	if *recordID != "" {
		named++
	}
	if *subjectID != "" {
		named++
	}
	if named != 1 || len(pos) > 1 {
		return usageError(stderr, "qr", "name the person exactly once: a QR id (the qr_id an import or a lookup printed), --record-id or --subject-id")
	}
	req := &lienthongv1.GetSignedQRRequest{}
	switch {
	case *recordID != "":
		req.Person = &lienthongv1.GetSignedQRRequest_RecordId{RecordId: *recordID}
	case *subjectID != "":
		req.Person = &lienthongv1.GetSignedQRRequest_SubjectId{SubjectId: *subjectID}
	default:
		qrid := strings.TrimSpace(pos[0])
		if !identity.LooksLikeQRID(qrid) {
			return usageError(stderr, "qr", "%q is not a QR id: 24 characters of a-z and 2-7, as an import or a lookup prints it", qrid)
		}
		req.Person = &lienthongv1.GetSignedQRRequest_QrId{QrId: qrid}
	}
	if *size < minPNGSize {
		return usageError(stderr, "qr", "--size %d: at least %d pixels, or phones will not scan it", *size, minPNGSize)
	}
	conn, err := cf.dial()
	if err != nil {
		return usageError(stderr, "qr", "%v", err)
	}
	defer conn.Close()
	ctx, cancel := cf.callContext(context.Background())
	defer cancel()
	resp, err := lienthongv1.NewIngestServiceClient(conn).GetSignedQR(ctx, req)
	if err != nil {
		return cf.rpcFailed(stderr, "qr", err)
	}
	if *png != "" {
		// Medium recovery (15%) survives a scratched or partly lit screen and keeps the
		// code coarse enough for a phone camera at arm's length.
		if err := qrcode.WriteFile(resp.GetSignedQr(), qrcode.Medium, *size, *png); err != nil {
			fmt.Fprintf(stderr, "lienthong qr: writing %s: %v\n", *png, err)
			return exitFail
		}
	}
	if cf.output == "json" {
		return finish(stderr, "qr", writeJSON(stdout, resp))
	}
	t := newTable(stdout, "Signed QR:", resp.GetSignedQr())
	t.Row("QR id:", resp.GetQrId())
	t.Row("Key:", resp.GetKeyId())
	t.Row("Issued:", fmtTime(resp.GetIssuedAt()))
	t.Row("Expires:", fmtTime(resp.GetExpiresAt()))
	if *png != "" {
		t.Row("PNG:", *png)
	}
	return finish(stderr, "qr", t.Flush())
}
