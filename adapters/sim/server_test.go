package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/adapters/registry"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

const (
	testToken = "ncovi-test-token"
	testKey   = "tokhaiyte-test-key"
)

// serverPop is shared by the server tests: generating is pure, serving does not change it.
var serverPop = sync.OnceValue(func() *Population {
	return Generate(Config{Seed: 11, People: 1500, Declarations: 4000, WrongShare: 0.05, Registry: true})
})

func startServers(t *testing.T, pop *Population, cfg ServerConfig) *Servers {
	t.Helper()
	cfg.NCOVIToken, cfg.TokhaiyteKey = testToken, testKey
	s, err := Start(context.Background(), pop, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		_ = s.Shutdown(context.Background()) // safe twice
	})
	return s
}

// TestNCOVIFeedThroughTheAdapter pages through the whole feed with the real NCOVI adapter:
// every record version comes exactly once, corrections after the versions they replace
// (except the late ones, which come after their correction).
func TestNCOVIFeedThroughTheAdapter(t *testing.T) {
	pop := serverPop()
	s := startServers(t, pop, ServerConfig{})
	src, err := ncovi.New(ncovi.Config{BaseURL: s.NCOVIURL(), Token: testToken, PageSize: 137}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	position := map[string]int{}
	versions := map[string][]string{}
	cursor, pages := "", 0
	for {
		page, err := src.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, d := range page.Declarations {
			key := d.Source.RecordID + "@" + d.Source.Version
			if _, seen := position[key]; seen {
				t.Errorf("%s delivered twice", key)
			}
			position[key] = len(position)
			versions[d.Source.RecordID] = append(versions[d.Source.RecordID], d.Source.Version)
		}
		cursor = page.Next
		if !page.More {
			break
		}
	}
	want := 0
	for _, r := range pop.Records {
		if r.Platform != canonical.PlatformNCOVI {
			continue
		}
		want++
		if _, ok := position[r.RecordID+"@"+r.Version]; !ok {
			t.Errorf("%s@%s never delivered", r.RecordID, r.Version)
		}
	}
	if len(position) != want {
		t.Errorf("%d versions delivered, want %d", len(position), want)
	}
	corrected, late := 0, 0
	for _, r := range pop.Records {
		if r.Platform != canonical.PlatformNCOVI || !r.Superseded {
			continue
		}
		corrected++
		vs := versions[r.RecordID]
		newest := slices.Max(vs)
		before := position[r.RecordID+"@"+r.Version] < position[r.RecordID+"@"+newest]
		if r.Late {
			late++
		}
		if before == r.Late {
			t.Errorf("%s@%s: delivered before its correction %v, late %v", r.RecordID, r.Version, before, r.Late)
		}
	}
	if corrected == 0 || late == 0 {
		t.Errorf("%d corrected and %d late records; want some of each", corrected, late)
	}
	// At the end of the feed the cursor stays where it is.
	page, err := src.Fetch(context.Background(), cursor)
	if err != nil || len(page.Declarations) != 0 || page.More {
		t.Errorf("past the end: %d declarations, more %v, err %v", len(page.Declarations), page.More, err)
	}
	t.Logf("%d versions in %d pages", len(position), pages)
}

func TestNCOVIRefusesAWrongToken(t *testing.T) {
	s := startServers(t, serverPop(), ServerConfig{})
	src, err := ncovi.New(ncovi.Config{BaseURL: s.NCOVIURL(), Token: "wrong"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(context.Background(), ""); !errs.Is(err, errs.Permission) {
		t.Fatalf("wrong token: %v, want a permission error", err)
	}
	for _, tc := range []struct{ name, query string }{
		{"limit too large", "?limit=501"},
		{"limit zero", "?limit=0"},
		{"forged cursor", "?cursor=not-base64!"},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.NCOVIURL()+"/api/v1/declarations"+tc.query, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", tc.name, resp.Status)
		}
	}
}

func getCSV(t *testing.T, s *Servers, from, to time.Time, key string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.TokhaiyteURL()+"/export/khai-bao.csv?tu="+from.Format(time.RFC3339)+"&den="+to.Format(time.RFC3339), nil)
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestTokhaiyteWindows: a window returns exactly the rows declared in [tu, den), in the
// export's dialect (CRLF, a BOM on every other response), and overlapping windows repeat rows.
func TestTokhaiyteWindows(t *testing.T) {
	pop := serverPop()
	s := startServers(t, pop, ServerConfig{})
	epoch := pop.Config.Epoch
	boms := 0
	seen := map[string]int{}
	windows := [][2]time.Time{
		{epoch.Add(-7 * 24 * time.Hour), epoch.Add(-24 * time.Hour)},
		{epoch.Add(-24*time.Hour - 5*time.Minute), epoch.Add(-12 * time.Hour)}, // overlaps the first by 5 minutes
		{epoch.Add(-12 * time.Hour), epoch.Add(time.Hour)},
		{epoch.Add(time.Hour), epoch.Add(time.Hour)}, // empty
	}
	for _, w := range windows {
		resp, body := getCSV(t, s, w[0], w[1], testKey)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s", resp.Status)
		}
		if bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}) {
			boms++
		}
		if n := bytes.Count(body, []byte("\n")); n != bytes.Count(body, []byte("\r\n")) {
			t.Errorf("%d line ends, %d of them CRLF", n, bytes.Count(body, []byte("\r\n")))
		}
		decls, err := tokhaiyte.DecodeCSV(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, d := range decls {
			got = append(got, d.Source.RecordID)
			seen[d.Source.RecordID]++
		}
		for _, r := range pop.Records {
			if r.Platform == canonical.PlatformTokhaiyte && !r.DeclaredAt.Before(w[0]) && r.DeclaredAt.Before(w[1]) {
				want = append(want, r.RecordID)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("window %v: %d rows, want %d", w, len(got), len(want))
		}
	}
	if boms != len(windows)/2 {
		t.Errorf("%d of %d responses with a BOM, want every other one", boms, len(windows))
	}
	repeated := 0
	for _, n := range seen {
		if n > 1 {
			repeated++
		}
	}
	total := 0
	for _, r := range pop.Records {
		if r.Platform == canonical.PlatformTokhaiyte {
			total++
		}
	}
	if len(seen) != total || repeated == 0 {
		t.Errorf("%d distinct rows of %d, %d repeated by the overlap", len(seen), total, repeated)
	}
	if resp, _ := getCSV(t, s, epoch, epoch, "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong key: %s", resp.Status)
	}
	if resp, _ := getCSV(t, s, epoch, epoch.Add(-time.Hour), testKey); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("window ending before it starts: %s", resp.Status)
	}
}

// TestRegisterAgreesExceptWhereMeantTo runs every CCCD declaration through the real register
// check against the simulated register: only the register faults are flagged, each with its
// reason.
func TestRegisterAgreesExceptWhereMeantTo(t *testing.T) {
	pop := serverPop()
	s := startServers(t, pop, ServerConfig{})
	checker, err := registry.New(registry.Config{BaseURL: s.RegistryURL()}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	checked := map[Fault]int{}
	for _, r := range pop.Records {
		d := canonical.Normalize(decodeNative(t, pop, r))
		if len(canonical.Validate(d, pop.Config.Epoch)) > 0 || d.Person.Document.Type != canonical.DocumentCCCD {
			continue
		}
		got := reasonSet(checker.Check(context.Background(), d).Violations)
		var want []canonical.Reason
		if r.Fault == FaultRegistryMismatch || r.Fault == FaultRegistryUnknown {
			want = r.Reasons
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s fault %q: register says %v, want %v", r.Platform, r.RecordID, r.Fault, got, want)
		}
		checked[r.Fault]++
	}
	if checked[FaultRegistryMismatch] == 0 || checked[FaultRegistryUnknown] == 0 || checked[""] == 0 {
		t.Errorf("checked %v", checked)
	}
	// The register's own answers.
	for _, p := range pop.People {
		if !p.hasCCCD() {
			continue
		}
		resp, err := http.Get(s.RegistryURL() + "/v1/citizens/" + p.Document.Number)
		if err != nil {
			t.Fatal(err)
		}
		var c Citizen
		err = json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		if err != nil || c.FullName != p.FullName || c.DateOfBirth != p.BirthDate.String() || c.Gender != p.Gender.String() {
			t.Errorf("register entry %+v for %s (%v)", c, p.ID, err)
		}
		break
	}
	resp, err := http.Get(s.RegistryURL() + "/v1/citizens/000000000000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown CCCD: %s", resp.Status)
	}
}
