package main

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/canonical/identity"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func auditHistory(a *auditRun) int {
	a.flags(false)
	reason := ""
	a.fs.StringVar(&reason, "reason", "", "why the history is read, e.g. a case number; written to the access log (required)")
	if code := a.parse(1); code >= 0 {
		return code
	}
	qrid := strings.TrimSpace(a.pos[0])
	if !identity.LooksLikeQRID(qrid) {
		return usageError(a.stderr, a.sc.name, "%q is not a QR id: 24 characters of a-z and 2-7", qrid)
	}
	if strings.TrimSpace(reason) == "" {
		return usageError(a.stderr, a.sc.name, "--reason is required: every history read is logged with why it was made")
	}
	return a.call(func(ctx context.Context) error {
		cctx, cancel := a.cf.callContext(ctx)
		defer cancel()
		resp, err := a.client.GetHistory(cctx, &lienthongv1.GetHistoryRequest{QrId: qrid, Reason: reason})
		if err != nil {
			return err
		}
		header := []string{"DECLARED", "PLATFORM", "RECORD ID", "VERSION", "NAME", "BORN", "GENDER", "DOCUMENT", "PHONE", "PROVINCE", "SYMPTOMS", "EXPOSURES"}
		row := func(d *lienthongv1.Declaration) []string {
			p, h := d.GetPerson(), d.GetHealth()
			sym := strings.Join(h.GetSymptoms(), ", ")
			if sym == "" && h.GetHasSymptoms() {
				sym = "yes"
			}
			return []string{fmtTime(d.GetDeclaredAt()), d.GetSource().GetPlatform(), d.GetSource().GetRecordId(), d.GetSource().GetVersion(),
				p.GetFullName(), birthDate(p.GetBirthDate()), enumWord(p.GetGender(), "GENDER_"), p.GetDocument().GetNumber(),
				p.GetPhone(), d.GetAddress().GetProvinceCode(), sym, strings.Join(h.GetExposures(), ", ")}
		}
		switch a.cf.output {
		case "json":
			return writeJSON(a.stdout, resp)
		case "csv":
			w := newSafeCSV(a.stdout)
			w.Write(append([]string{"qr_id"}, csvHeader(header)...)...)
			for _, d := range resp.GetDeclarations() {
				w.Write(append([]string{resp.GetQrId()}, row(d)...)...)
			}
			return w.Flush()
		}
		t := newTable(a.stdout, header...)
		for _, d := range resp.GetDeclarations() {
			cells := row(d)
			for i, c := range cells {
				cells[i] = orDash(c)
			}
			t.Row(cells...)
		}
		return t.Flush()
	})
}

// csvHeader turns table headings into CSV column names ("RECORD ID" → "record_id").
func csvHeader(h []string) []string {
	out := make([]string, len(h))
	for i, s := range h {
		out[i] = strings.ReplaceAll(strings.ToLower(s), " ", "_")
	}
	return out
}

func auditAccessLog(a *auditRun) int {
	a.flags(true)
	req := &lienthongv1.ListAccessLogRequest{}
	a.fs.StringVar(&req.QrId, "qr-id", "", "only reads of this person")
	a.fs.StringVar(&req.Principal, "principal", "", "only reads by this principal id")
	if code := a.parse(0); code >= 0 {
		return code
	}
	return a.call(func(ctx context.Context) error {
		resp, err := listPages(a, ctx, func(ctx context.Context, token string, opts ...grpc.CallOption) (*lienthongv1.ListAccessLogResponse, error) {
			r := proto.CloneOf(req)
			r.PageSize, r.PageToken = int32(a.pageSize), token
			return a.client.ListAccessLog(ctx, r, opts...)
		}, func(into, page *lienthongv1.ListAccessLogResponse) {
			into.Accesses = append(into.Accesses, page.Accesses...)
			into.NextPageToken = page.NextPageToken
		})
		if err != nil {
			return err
		}
		defer a.morePages(resp.GetNextPageToken())
		header := []string{"AT", "PRINCIPAL", "ROLE", "ACTION", "QR ID", "REASON"}
		row := func(x *lienthongv1.Access, at string) []string {
			return []string{at, x.GetPrincipal(), enumWord(x.GetRole(), "ROLE_"), x.GetAction(), x.GetQrId(), x.GetReason()}
		}
		switch a.cf.output {
		case "json":
			return writeJSON(a.stdout, resp)
		case "csv":
			w := newSafeCSV(a.stdout)
			w.Write(csvHeader(header)...)
			for _, x := range resp.GetAccesses() {
				w.Write(row(x, fmtRFC3339(x.GetAt()))...)
			}
			return w.Flush()
		}
		t := newTable(a.stdout, header...)
		for _, x := range resp.GetAccesses() {
			cells := row(x, fmtTime(x.GetAt()))
			cells[5] = orDash(cells[5])
			t.Row(cells...)
		}
		return t.Flush()
	})
}

func auditRejections(a *auditRun) int {
	a.flags(true)
	req := &lienthongv1.ListRejectionsRequest{}
	a.fs.StringVar(&req.Platform, "platform", "", "only rejections of this platform")
	a.fs.StringVar(&req.Reason, "reason", "", "only rejections with a violation of this reason code")
	if code := a.parse(0); code >= 0 {
		return code
	}
	return a.call(func(ctx context.Context) error {
		resp, err := listPages(a, ctx, func(ctx context.Context, token string, opts ...grpc.CallOption) (*lienthongv1.ListRejectionsResponse, error) {
			r := proto.CloneOf(req)
			r.PageSize, r.PageToken = int32(a.pageSize), token
			return a.client.ListRejections(ctx, r, opts...)
		}, func(into, page *lienthongv1.ListRejectionsResponse) {
			into.Rejections = append(into.Rejections, page.Rejections...)
			into.NextPageToken = page.NextPageToken
		})
		if err != nil {
			return err
		}
		defer a.morePages(resp.GetNextPageToken())
		header := []string{"DECLARED", "PLATFORM", "RECORD ID", "LINE", "NAME", "REASONS", "FIELDS", "MESSAGES"}
		row := func(r *lienthongv1.Rejection, at string) []string {
			d := r.GetDeclaration()
			var reasons, fields, msgs []string
			for _, v := range r.GetViolations() {
				reasons = append(reasons, v.GetReason())
				fields = append(fields, v.GetField())
				msgs = append(msgs, v.GetMessage())
			}
			line := ""
			if n := d.GetSource().GetLine(); n > 0 {
				line = strconv.Itoa(int(n))
			}
			return []string{at, d.GetSource().GetPlatform(), d.GetSource().GetRecordId(), line, d.GetPerson().GetFullName(),
				strings.Join(reasons, "; "), strings.Join(fields, "; "), strings.Join(msgs, "; ")}
		}
		switch a.cf.output {
		case "json":
			return writeJSON(a.stdout, resp)
		case "csv":
			w := newSafeCSV(a.stdout)
			w.Write(csvHeader(header)...)
			for _, r := range resp.GetRejections() {
				w.Write(row(r, fmtRFC3339(r.GetDeclaration().GetDeclaredAt()))...)
			}
			return w.Flush()
		}
		t := newTable(a.stdout, header...)
		for _, r := range resp.GetRejections() {
			cells := row(r, fmtTime(r.GetDeclaration().GetDeclaredAt()))
			for i, c := range cells {
				cells[i] = orDash(c)
			}
			t.Row(cells...)
		}
		return t.Flush()
	})
}
