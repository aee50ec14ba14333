package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

var lookupCommand = subcommand{
	name:    "lookup",
	args:    "<QR string>",
	summary: "Look a person up by any QR they show (signed, 1405, chip card or a bare QR id), as a checkpoint does (checkpoint token).",
	example: `lienthong lookup --token "$CHECKPOINT_TOKEN" 'LT1.eyJ...'` + "\n" + `lienthong lookup -o json abcdefghijklmnopqrstuvwx`,
}

func runLookup(args []string, stdout, stderr io.Writer) int {
	var cf clientFlags
	fs := newFlagSet(lookupCommand, stderr)
	cf.register(fs, "table", "json")
	pos, code := parseArgs(fs, args)
	if code >= 0 {
		return code
	}
	if msg := cf.check(); msg != "" {
		return usageError(stderr, "lookup", "%s", msg)
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageError(stderr, "lookup", "give exactly one QR string (quote it: QR strings hold | and spaces)")
	}
	conn, err := cf.dial()
	if err != nil {
		return usageError(stderr, "lookup", "%v", err)
	}
	defer conn.Close()
	ctx, cancel := cf.callContext(context.Background())
	defer cancel()
	resp, err := lienthongv1.NewCheckpointServiceClient(conn).Lookup(ctx, &lienthongv1.LookupRequest{Qr: pos[0]})
	if err != nil {
		return cf.rpcFailed(stderr, "lookup", err)
	}
	if cf.output == "json" {
		err = writeJSON(stdout, resp)
	} else {
		err = writeLookup(stdout, resp)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lienthong lookup: writing the answer: %v\n", err)
		return exitFail
	}
	return exitOK
}

// statusAdvice is what a station does for each status.
var statusAdvice = map[lienthongv1.Status]string{
	lienthongv1.Status_STATUS_CLEAR:  "let through",
	lienthongv1.Status_STATUS_SCREEN: "hold for health screening: symptoms or exposure declared",
	lienthongv1.Status_STATUS_STALE:  "the newest declaration has expired: the person must declare again",
	lienthongv1.Status_STATUS_NONE:   "no declaration known: the person must declare",
}

// writeLookup prints a lookup for a person at a checkpoint, status first.
func writeLookup(w io.Writer, r *lienthongv1.LookupResponse) error {
	t := newTable(w, "Status:", strings.ToUpper(enumWord(r.GetStatus(), "STATUS_"))+" ("+statusAdvice[r.GetStatus()]+")")
	t.Row("QR id:", orDash(r.GetQrId()))
	t.Row("QR form:", strings.ReplaceAll(enumWord(r.GetQrForm(), "QR_FORM_"), "_", " "))
	if p := r.GetPerson(); p != nil {
		who := p.GetFullName()
		if p.GetBirthYear() != 0 {
			who += fmt.Sprintf(", born %d", p.GetBirthYear())
		}
		if p.GetDocumentType() != lienthongv1.DocumentType_DOCUMENT_TYPE_UNSPECIFIED {
			who += fmt.Sprintf(", %s %s", strings.ToUpper(enumWord(p.GetDocumentType(), "DOCUMENT_TYPE_")), p.GetDocumentMasked())
		} else {
			who += ", no identity document declared"
		}
		t.Row("Person:", who)
	}
	if n := r.GetNewest(); n != nil {
		t.Row("Newest:", fmt.Sprintf("%s %s, declared %s", n.GetPlatform(), n.GetRecordId(), fmtTime(n.GetDeclaredAt())))
		sym := "none"
		switch {
		case len(n.GetSymptoms()) > 0:
			sym = strings.Join(n.GetSymptoms(), ", ")
		case n.GetHasSymptoms():
			sym = "yes"
		}
		t.Row("Symptoms:", sym)
		exp := "none"
		if len(n.GetExposures()) > 0 {
			exp = strings.Join(n.GetExposures(), ", ")
		}
		t.Row("Exposures:", exp)
		if n.GetOnBehalf() {
			t.Row("On behalf:", "declared by someone else for the person")
		}
	}
	t.Row("Platforms:", orDash(strings.Join(r.GetPlatforms(), ", ")))
	var flags []string
	if f := r.GetFlags(); f != nil {
		if f.GetUnverifiedIdentity() {
			flags = append(flags, "UNVERIFIED IDENTITY (keyed by phone, name and birth year): check the person's papers")
		}
		if f.GetInconsistent() {
			var fields []string
			for _, cf := range f.GetInconsistentFields() {
				fields = append(fields, strings.ReplaceAll(enumWord(cf, "COMPARED_FIELD_"), "_", " "))
			}
			flags = append(flags, "platforms disagree on "+orDash(strings.Join(fields, ", ")))
		}
	}
	t.Row("Flags:", orDash(strings.Join(flags, "; ")))
	if r.GetValidUntil() != nil {
		t.Row("Valid until:", fmtTime(r.GetValidUntil()))
	}
	return t.Flush()
}
