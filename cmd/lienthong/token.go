package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
)

var tokenCreateCommand = subcommand{
	name: "token create",
	summary: "Make a fresh bearer token (32 random bytes, base64url) and the credential line that configures it.\n" +
		"Offline: no gateway is needed. The token is printed once (line 1 of the output) and stored nowhere;\n" +
		"add the credential line (line 2, holding only the token's SHA-256) to the gateway configuration's\n" +
		`"credentials" list and restart the gateway.`,
	example: "lienthong token create --role partner --id bluezone-prod --platform bluezone\n" +
		"lienthong token create --role checkpoint --id tram-cau-rong --station QL1A-KM1234 --province 79 --district 760\n" +
		"lienthong token create --role ministry --id byt-auditor-01",
}

// tokenBytes is the entropy of a token.
const tokenBytes = 32

// credentialLine is auth.Credential as it is configured, without empty parts.
type credentialLine struct {
	ID          string             `json:"id"`
	Role        auth.Role          `json:"role"`
	Platform    canonical.Platform `json:"platform,omitempty"`
	Station     string             `json:"station,omitempty"`
	Area        *auth.Area         `json:"area,omitempty"`
	TokenSHA256 string             `json:"token_sha256"`
}

var (
	provinceCode = regexp.MustCompile(`^[0-9]{2}$`)
	platformName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
)

func runToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			newFlagSet(tokenCreateCommand, stderr).Usage()
			return exitOK
		}
		fmt.Fprintln(stderr, "lienthong token: say create (lienthong token create --help)")
		return exitUsage
	}
	return runTokenCreate(args[1:], stdout, stderr, rand.Reader)
}

func runTokenCreate(args []string, stdout, stderr io.Writer, random io.Reader) int {
	const name = "token create"
	fs := newFlagSet(tokenCreateCommand, stderr)
	var p auth.Principal
	var role, platform string
	fs.StringVar(&role, "role", "", "partner, checkpoint or ministry (required)")
	fs.StringVar(&p.ID, "id", "", "the principal's id, as the access log and the gateway's log will name it (required)")
	fs.StringVar(&platform, "platform", "", "partner: the platform it submits for (bluezone, ncovi, tokhaiyte, ...)")
	fs.StringVar(&p.Station, "station", "", "checkpoint: its station id")
	fs.StringVar(&p.Area.Province, "province", "", "checkpoint: its province, 2-digit GSO code (2021 set)")
	fs.StringVar(&p.Area.District, "district", "", "checkpoint: its district code (optional)")
	fs.StringVar(&p.Area.Commune, "commune", "", "checkpoint: its commune code (optional)")
	pos, code := parseArgs(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return usageError(stderr, name, "unexpected argument %q", pos[0])
	}
	p.Role, p.Platform = auth.Role(role), canonical.Platform(platform)
	if msg := checkPrincipalFlags(p); msg != "" {
		return usageError(stderr, name, "%s", msg)
	}
	if err := p.Validate(); err != nil {
		return usageError(stderr, name, "%v", err)
	}
	raw := make([]byte, tokenBytes)
	if _, err := io.ReadFull(random, raw); err != nil {
		fmt.Fprintf(stderr, "lienthong %s: no randomness from the system: %v\n", name, err)
		return exitFail
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	line := credentialLine{ID: p.ID, Role: p.Role, Platform: p.Platform, Station: p.Station, TokenSHA256: auth.HashToken(token)}
	if p.Area != (auth.Area{}) {
		line.Area = &p.Area
	}
	b, err := json.Marshal(line)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong %s: %v\n", name, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s\n%s\n", token, b)
	fmt.Fprintf(stderr, "Line 1 is the token for %s (%s): give it to its holder now, it is not stored anywhere.\n"+
		"Line 2 is its credential: add it to \"credentials\" in the gateway's configuration and restart the gateway.\n", p.ID, p.Role)
	return exitOK
}

// checkPrincipalFlags refuses flags that do not belong to the role, which Validate lets by.
func checkPrincipalFlags(p auth.Principal) string {
	switch p.Role {
	case "":
		return "--role is required: partner, checkpoint or ministry"
	case auth.RolePartner, auth.RoleCheckpoint, auth.RoleMinistry:
	default:
		return fmt.Sprintf("--role %q: use partner, checkpoint or ministry", p.Role)
	}
	if p.ID == "" {
		return "--id is required"
	}
	if p.Role != auth.RolePartner && p.Platform != "" {
		return "--platform is for partners only"
	}
	if p.Role == auth.RolePartner && p.Platform != "" && !platformName.MatchString(string(p.Platform)) {
		return fmt.Sprintf("--platform %q: a lower-case platform name such as bluezone, ncovi or tokhaiyte", p.Platform)
	}
	if p.Role != auth.RoleCheckpoint && (p.Station != "" || p.Area != (auth.Area{})) {
		return "--station, --province, --district and --commune are for checkpoints only"
	}
	if p.Role == auth.RoleCheckpoint && p.Area.Province != "" && !provinceCode.MatchString(p.Area.Province) {
		return fmt.Sprintf("--province %q: a 2-digit GSO province code such as 79 (Hồ Chí Minh City) or 01 (Hà Nội)", p.Area.Province)
	}
	if p.Area.Commune != "" && p.Area.District == "" {
		return "--commune needs --district"
	}
	return ""
}
