package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// auditCommands are the audit subcommands, in the order of the help text.
var auditCommands = []struct {
	subcommand
	run func(a *auditRun) int
}{
	{subcommand{name: "audit stats", summary: "Counters of declarations (per day, platform, outcome, reason, province) and passages (per day, station, decision).\nMinistry token; a checkpoint token sees its own area's stations and provinces only.",
		example: "lienthong audit stats --from 2021-08-01 --to 2021-08-31 --platform tokhaiyte\nlienthong audit stats --province 79 --code-set 2025 -o csv > hcm.csv"}, auditStats},
	{subcommand{name: "audit inconsistencies", summary: "Persons whose platforms' newest declarations disagree, with each platform's values (ministry token).",
		example: "lienthong audit inconsistencies --field phone --platform-a bluezone --platform-b ncovi --all -o csv"}, auditInconsistencies},
	{subcommand{name: "audit history", args: "<QR id>", summary: "One person's full history across platforms; the read and its --reason go to the access log (ministry token).",
		example: `lienthong audit history --reason "case 2021/0815 contact tracing" abcdefghijklmnopqrstuvwx`}, auditHistory},
	{subcommand{name: "audit access-log", summary: "Who looked whom up, newest first (ministry token).",
		example: "lienthong audit access-log --qr-id abcdefghijklmnopqrstuvwx --all"}, auditAccessLog},
	{subcommand{name: "audit rejections", summary: "Rejected declarations with every rule they broke, newest first (ministry token).",
		example: "lienthong audit rejections --platform ncovi --reason malformed --page-size 50"}, auditRejections},
}

// auditRun is one audit subcommand's parsed command line and connection.
type auditRun struct {
	sc             subcommand
	cf             clientFlags
	fs             *flag.FlagSet
	pos            []string
	pageSize       int
	pageToken      string
	all            bool
	client         lienthongv1.AuditServiceClient
	stdout, stderr io.Writer
}

func runAudit(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range auditCommands {
			if c.name == "audit "+args[0] {
				return c.run(&auditRun{sc: c.subcommand, stdout: stdout, stderr: stderr, pos: args[1:]})
			}
		}
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		auditUsage(stderr)
		return exitOK
	}
	auditUsage(stderr)
	return exitUsage
}

func auditUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: lienthong audit <subcommand> [flags]   (lienthong audit <subcommand> --help for its flags)")
	fmt.Fprintln(w, "\nSubcommands:")
	for _, c := range auditCommands {
		fmt.Fprintf(w, "  %-16s %s\n", strings.TrimPrefix(c.name, "audit "), strings.SplitN(c.summary, "\n", 2)[0])
	}
}

// flags registers the shared flags (and the paging ones when paged); define the
// subcommand's own flags on a.fs before calling parse.
func (a *auditRun) flags(paged bool) {
	a.fs = newFlagSet(a.sc, a.stderr)
	a.cf.register(a.fs, "table", "json", "csv")
	if paged {
		a.fs.IntVar(&a.pageSize, "page-size", 100, "rows per page, 1 to 1000")
		a.fs.StringVar(&a.pageToken, "page-token", "", "go on from this page token (printed after a page)")
		a.fs.BoolVar(&a.all, "all", false, "follow the page tokens to the end")
	}
}

// parse parses the command line; wantArgs is the number of positional arguments. It
// returns -1 to go on, else the exit code.
func (a *auditRun) parse(wantArgs int) int {
	pos, code := parseArgs(a.fs, a.pos)
	if code >= 0 {
		return code
	}
	a.pos = pos
	if msg := a.cf.check(); msg != "" {
		return usageError(a.stderr, a.sc.name, "%s", msg)
	}
	if len(pos) != wantArgs {
		if wantArgs == 0 {
			return usageError(a.stderr, a.sc.name, "unexpected argument %q", pos[0])
		}
		return usageError(a.stderr, a.sc.name, "give exactly %d argument: %s", wantArgs, a.sc.args)
	}
	if a.pageSize < 0 || a.pageSize > 1000 || (a.pageSize == 0 && a.fs.Lookup("page-size") != nil) {
		return usageError(a.stderr, a.sc.name, "--page-size %d: between 1 and 1000", a.pageSize)
	}
	return -1
}

// call dials and runs fn with a call context; it returns the exit code.
func (a *auditRun) call(fn func(ctx context.Context) error) int {
	conn, err := a.cf.dial()
	if err != nil {
		return usageError(a.stderr, a.sc.name, "%v", err)
	}
	defer conn.Close()
	a.client = lienthongv1.NewAuditServiceClient(conn)
	if err := fn(context.Background()); err != nil {
		return a.cf.rpcFailed(a.stderr, a.sc.name, err)
	}
	return exitOK
}

// pageOf is one page of a list answer: its rows' holder and its next token.
type pageOf[R proto.Message] interface {
	proto.Message
	GetNextPageToken() string
}

// listPages calls fetch from the --page-token (following the tokens with --all), merging each
// page into the first with merge; it returns the merged answer.
func listPages[R pageOf[R]](a *auditRun, ctx context.Context, fetch func(ctx context.Context, token string, opts ...grpc.CallOption) (R, error), merge func(into, page R)) (R, error) {
	var first R
	token := a.pageToken
	for n := 0; ; n++ {
		cctx, cancel := a.cf.callContext(ctx)
		page, err := fetch(cctx, token)
		cancel()
		if err != nil {
			return first, err
		}
		if n == 0 {
			first = page
		} else {
			merge(first, page)
		}
		token = page.GetNextPageToken()
		if !a.all || token == "" {
			return first, nil
		}
	}
}

// morePages tells a person reading a table how to see the next page.
func (a *auditRun) morePages(next string) {
	if next != "" && a.cf.output == "table" {
		fmt.Fprintf(a.stderr, "more rows: add --page-token %s (or --all)\n", next)
	}
}

var dayPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

func checkDay(flagName, v string) string {
	if v == "" {
		return ""
	}
	if _, err := time.Parse("2006-01-02", v); err != nil || !dayPattern.MatchString(v) {
		return fmt.Sprintf("--%s %q: a day as YYYY-MM-DD (in Vietnam's time zone)", flagName, v)
	}
	return ""
}

func auditStats(a *auditRun) int {
	a.flags(false)
	req := &lienthongv1.GetStatisticsRequest{}
	codeSet := ""
	a.fs.StringVar(&req.Platform, "platform", "", "only declarations of this platform")
	a.fs.StringVar(&req.Reason, "reason", "", "only rejections with this reason code (e.g. malformed, required)")
	a.fs.StringVar(&req.FromDay, "from", "", "the first day counted, YYYY-MM-DD, inclusive")
	a.fs.StringVar(&req.ToDay, "to", "", "the last day counted, YYYY-MM-DD, inclusive")
	a.fs.StringVar(&req.Province, "province", "", "only declarations in this province (2-digit GSO code)")
	a.fs.StringVar(&codeSet, "code-set", "2021", "the code set of --province: 2021 (as declared) or 2025 (every 2021 province merged into it)")
	a.fs.StringVar(&req.StationId, "station", "", "only passages at this station")
	if code := a.parse(0); code >= 0 {
		return code
	}
	for _, m := range []string{checkDay("from", req.FromDay), checkDay("to", req.ToDay)} {
		if m != "" {
			return usageError(a.stderr, a.sc.name, "%s", m)
		}
	}
	if req.FromDay != "" && req.ToDay != "" && req.FromDay > req.ToDay {
		return usageError(a.stderr, a.sc.name, "--from %s is after --to %s", req.FromDay, req.ToDay)
	}
	if req.Province != "" {
		if !provinceCode.MatchString(req.Province) {
			return usageError(a.stderr, a.sc.name, "--province %q: a 2-digit GSO province code such as 79", req.Province)
		}
		switch codeSet {
		case "2021":
			req.ProvinceCodeSet = lienthongv1.CodeSet_CODE_SET_2021
		case "2025":
			req.ProvinceCodeSet = lienthongv1.CodeSet_CODE_SET_2025
		default:
			return usageError(a.stderr, a.sc.name, "--code-set %q: 2021 or 2025", codeSet)
		}
	}
	return a.call(func(ctx context.Context) error {
		cctx, cancel := a.cf.callContext(ctx)
		defer cancel()
		resp, err := a.client.GetStatistics(cctx, req)
		if err != nil {
			return err
		}
		return a.printStats(resp)
	})
}

func (a *auditRun) printStats(resp *lienthongv1.GetStatisticsResponse) error {
	switch a.cf.output {
	case "json":
		return writeJSON(a.stdout, resp)
	case "csv":
		w := newSafeCSV(a.stdout)
		w.Write("kind", "day", "platform", "outcome", "reason", "province", "successor_province", "station", "decision", "count")
		for _, c := range resp.GetDeclarationCounts() {
			w.Write("declaration", c.GetDay(), c.GetPlatform(), enumWord(c.GetOutcome(), "OUTCOME_"), c.GetReason(),
				c.GetProvince(), c.GetSuccessorProvince(), "", "", strconv.FormatInt(c.GetCount(), 10))
		}
		for _, c := range resp.GetPassageCounts() {
			w.Write("passage", c.GetDay(), "", "", "", "", "", c.GetStationId(), enumWord(c.GetDecision(), "DECISION_"), strconv.FormatInt(c.GetCount(), 10))
		}
		return w.Flush()
	}
	fmt.Fprintln(a.stdout, "Declarations")
	t := newTable(a.stdout, "DAY", "PLATFORM", "OUTCOME", "REASON", "PROVINCE", "2025", "COUNT")
	for _, c := range resp.GetDeclarationCounts() {
		t.Row(c.GetDay(), c.GetPlatform(), enumWord(c.GetOutcome(), "OUTCOME_"), orDash(c.GetReason()),
			orDash(c.GetProvince()), orDash(c.GetSuccessorProvince()), strconv.FormatInt(c.GetCount(), 10))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\nPassages")
	t = newTable(a.stdout, "DAY", "STATION", "DECISION", "COUNT")
	for _, c := range resp.GetPassageCounts() {
		t.Row(c.GetDay(), c.GetStationId(), enumWord(c.GetDecision(), "DECISION_"), strconv.FormatInt(c.GetCount(), 10))
	}
	return t.Flush()
}

// comparedFields are the --field values.
var comparedFields = map[string]lienthongv1.ComparedField{
	"":           lienthongv1.ComparedField_COMPARED_FIELD_UNSPECIFIED,
	"name":       lienthongv1.ComparedField_COMPARED_FIELD_NAME,
	"birth_date": lienthongv1.ComparedField_COMPARED_FIELD_BIRTH_DATE,
	"gender":     lienthongv1.ComparedField_COMPARED_FIELD_GENDER,
	"phone":      lienthongv1.ComparedField_COMPARED_FIELD_PHONE,
	"province":   lienthongv1.ComparedField_COMPARED_FIELD_PROVINCE,
}

func auditInconsistencies(a *auditRun) int {
	a.flags(true)
	req := &lienthongv1.ListInconsistenciesRequest{}
	field := ""
	a.fs.StringVar(&field, "field", "", "only disagreements on this field: name, birth_date, gender, phone or province")
	a.fs.StringVar(&req.PlatformA, "platform-a", "", "with --platform-b: only disagreements between these two platforms")
	a.fs.StringVar(&req.PlatformB, "platform-b", "", "the other platform of the pair")
	if code := a.parse(0); code >= 0 {
		return code
	}
	f, ok := comparedFields[field]
	if !ok {
		return usageError(a.stderr, a.sc.name, "--field %q: name, birth_date, gender, phone or province", field)
	}
	if (req.PlatformA == "") != (req.PlatformB == "") {
		return usageError(a.stderr, a.sc.name, "--platform-a and --platform-b go together")
	}
	req.Field = f
	return a.call(func(ctx context.Context) error {
		resp, err := listPages(a, ctx, func(ctx context.Context, token string, opts ...grpc.CallOption) (*lienthongv1.ListInconsistenciesResponse, error) {
			r := proto.CloneOf(req)
			r.PageSize, r.PageToken = int32(a.pageSize), token
			return a.client.ListInconsistencies(ctx, r, opts...)
		}, func(into, page *lienthongv1.ListInconsistenciesResponse) {
			into.Identities = append(into.Identities, page.Identities...)
			into.NextPageToken = page.NextPageToken
		})
		if err != nil {
			return err
		}
		defer a.morePages(resp.GetNextPageToken())
		switch a.cf.output {
		case "json":
			return writeJSON(a.stdout, resp)
		case "csv":
			w := newSafeCSV(a.stdout)
			w.Write("qr_id", "verified", "field", "platform_a", "platform_b", "value_a", "value_b")
			for _, id := range resp.GetIdentities() {
				vals := comparedByPlatform(id)
				for _, inc := range id.GetInconsistencies() {
					name := enumWord(inc.GetField(), "COMPARED_FIELD_")
					w.Write(id.GetQrId(), strconv.FormatBool(id.GetVerified()), name, inc.GetPlatformA(), inc.GetPlatformB(),
						comparedValue(vals[inc.GetPlatformA()], inc.GetField()), comparedValue(vals[inc.GetPlatformB()], inc.GetField()))
				}
			}
			return w.Flush()
		}
		t := newTable(a.stdout, "QR ID", "VERIFIED", "FIELD", "PLATFORMS", "VALUES")
		for _, id := range resp.GetIdentities() {
			vals := comparedByPlatform(id)
			for _, inc := range id.GetInconsistencies() {
				t.Row(id.GetQrId(), yesNo(id.GetVerified()), enumWord(inc.GetField(), "COMPARED_FIELD_"),
					inc.GetPlatformA()+" / "+inc.GetPlatformB(),
					comparedValue(vals[inc.GetPlatformA()], inc.GetField())+" / "+comparedValue(vals[inc.GetPlatformB()], inc.GetField()))
			}
		}
		return t.Flush()
	})
}

func comparedByPlatform(id *lienthongv1.InconsistentIdentity) map[string]*lienthongv1.ComparedValues {
	m := map[string]*lienthongv1.ComparedValues{}
	for _, p := range id.GetPlatforms() {
		m[p.GetDeclaration().GetPlatform()] = p
	}
	return m
}

// comparedValue shows the value a platform holds for a compared field.
func comparedValue(v *lienthongv1.ComparedValues, f lienthongv1.ComparedField) string {
	if v == nil {
		return "?"
	}
	switch f {
	case lienthongv1.ComparedField_COMPARED_FIELD_NAME:
		return v.GetNameKey()
	case lienthongv1.ComparedField_COMPARED_FIELD_BIRTH_DATE:
		return birthDate(v.GetBirthDate())
	case lienthongv1.ComparedField_COMPARED_FIELD_GENDER:
		return enumWord(v.GetGender(), "GENDER_")
	case lienthongv1.ComparedField_COMPARED_FIELD_PHONE:
		return v.GetPhone()
	case lienthongv1.ComparedField_COMPARED_FIELD_PROVINCE:
		return v.GetProvinceCode()
	}
	return ""
}

func birthDate(b *lienthongv1.BirthDate) string {
	switch {
	case b == nil || b.GetYear() == 0:
		return ""
	case b.GetPrecision() == lienthongv1.DatePrecision_DATE_PRECISION_DAY:
		return fmt.Sprintf("%04d-%02d-%02d", b.GetYear(), b.GetMonth(), b.GetDay())
	}
	return strconv.Itoa(int(b.GetYear()))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
