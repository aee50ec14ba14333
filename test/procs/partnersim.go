package procs

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
)

// Secrets are the partners' credentials; partnersim and the gateway get them through the
// environment, so they stay out of the process list.
type Secrets struct{ NCOVIToken, TokhaiyteKey, BluezoneSecret string }

// PartnerPlatforms is every partner platform, in the order the suites configure them.
func PartnerPlatforms() []canonical.Platform {
	return []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}
}

// PartnersimEnv is the environment that hands s to partnersim.
func (s Secrets) PartnersimEnv() []string {
	return []string{"PARTNERSIM_NCOVI_TOKEN=" + s.NCOVIToken, "PARTNERSIM_TOKHAIYTE_KEY=" + s.TokhaiyteKey, "PARTNERSIM_BLUEZONE_SECRET=" + s.BluezoneSecret}
}

// GatewayEnv is the environment that hands s to `lienthong serve`.
func (s Secrets) GatewayEnv() []string {
	return []string{"LIENTHONG_NCOVI_TOKEN=" + s.NCOVIToken, "LIENTHONG_TOKHAIYTE_KEY=" + s.TokhaiyteKey, "LIENTHONG_BLUEZONE_SECRET=" + s.BluezoneSecret}
}

// SimOptions is one partnersim process's command line.
type SimOptions struct {
	Declarations int
	Seed         int64
	Epoch        time.Time
	GroundTruth  string // the ground-truth file partnersim writes
	PushAttempts int
	PushTo       string   // gateway HTTP base URL for Bluezone pushes; "" serves the feeds only
	Extra        []string // more flags, after the others (a repeated flag wins)
}

func (o SimOptions) args() []string {
	args := []string{"--declarations", strconv.Itoa(o.Declarations), "--seed", strconv.FormatInt(o.Seed, 10),
		"--epoch", o.Epoch.Format(time.RFC3339), "--ground-truth", o.GroundTruth,
		"--push-attempts", strconv.Itoa(o.PushAttempts)}
	if o.PushTo != "" {
		args = append(args, "--push-to", o.PushTo)
	}
	return append(args, o.Extra...)
}

// StartLine is partnersim's JSON start line: the URLs it serves and its population.
type StartLine struct {
	NCOVI        string `json:"ncovi"`
	Tokhaiyte    string `json:"tokhaiyte"`
	Registry     string `json:"registry"`
	Declarations int    `json:"declarations"`
}

// Sim is a running partnersim with what its start line announced.
type Sim struct {
	*Proc
	Started     StartLine
	GroundTruth string // the ground-truth file's path
}

// StartPartnersim starts the partnersim binary bin with o and secrets, waits up to deadline
// for its start line and fails the test unless that line names both feed URLs.
func StartPartnersim(t testing.TB, name, bin string, o SimOptions, secrets Secrets, po Options, deadline time.Duration) *Sim {
	t.Helper()
	s := &Sim{Proc: Start(t, name, bin, o.args(), secrets.PartnersimEnv(), po), GroundTruth: o.GroundTruth}
	line := s.WaitLine(t, s.StdoutPath, deadline, "start line", func(l []byte) bool { return json.Valid(l) })
	if err := json.Unmarshal(line, &s.Started); err != nil || s.Started.NCOVI == "" || s.Started.Tokhaiyte == "" {
		t.Fatalf("%s start line %q: %v", name, line, err)
	}
	return s
}

// WaitPushed waits for the Bluezone pusher's report line and fails the test if the push gave
// up.
func (s *Sim) WaitPushed(t testing.TB, deadline time.Duration) {
	t.Helper()
	line := s.WaitLine(t, s.StdoutPath, deadline, "bluezone_push report", func(l []byte) bool {
		var m map[string]json.RawMessage
		if json.Unmarshal(l, &m) != nil {
			return false
		}
		_, ok := m["bluezone_push"]
		return ok
	})
	var report struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &report); err != nil || report.Error != "" {
		t.Fatalf("%s: bluezone push failed: %s", s.Name, line)
	}
}

// Summary reads the ground truth's summary line (written before the start line).
func (s *Sim) Summary(t testing.TB) sim.Summary {
	t.Helper()
	f, err := os.Open(s.GroundTruth)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var sum sim.Summary
		if json.Unmarshal(sc.Bytes(), &sum) == nil && sum.Type == "summary" {
			return sum
		}
	}
	t.Fatalf("ground truth %s has no summary line (%v)", s.GroundTruth, sc.Err())
	return sim.Summary{}
}

// WaitServing waits up to deadline for the gateway's "gateway serving" JSON log line on
// stderr and returns it.
func (p *Proc) WaitServing(t testing.TB, deadline time.Duration) []byte {
	t.Helper()
	return p.WaitLine(t, p.StderrPath, deadline, `"gateway serving" log line`, func(l []byte) bool {
		var m struct{ Msg string }
		return json.Unmarshal(l, &m) == nil && m.Msg == "gateway serving"
	})
}
