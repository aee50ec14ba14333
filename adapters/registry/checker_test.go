package registry

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// register is a population register on a real HTTP server: it knows some citizens, counts
// the requests it gets, and can be told to fail with a status.
type register struct {
	srv      *httptest.Server
	requests atomic.Int64
	status   atomic.Int64 // when not 0, every request gets this status
	body     atomic.Value // when set (string), a 200 answer has this body instead
	before   atomic.Pointer[func(*http.Request) bool]
	citizens map[string]citizen
}

func newRegister(t testing.TB) *register {
	t.Helper()
	r := &register{citizens: map[string]citizen{
		"079084000123": {CCCD: "079084000123", FullName: "Nguyễn Văn An", DateOfBirth: "1984-03-05", Gender: "male", ProvinceCode: "79"},
		"001190000456": {CCCD: "001190000456", FullName: "Trần Thị Đào", DateOfBirth: "1990-12-31", Gender: "female", ProvinceCode: "01"},
	}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if before := r.before.Load(); before != nil && !(*before)(req) {
			return
		}
		if s := r.status.Load(); s != 0 {
			http.Error(w, "unavailable", int(s))
			return
		}
		cccd, ok := strings.CutPrefix(req.URL.Path, "/v1/citizens/")
		c, known := r.citizens[cccd]
		if req.Method != http.MethodGet || !ok || !known {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if b, ok := r.body.Load().(string); ok {
			_, _ = w.Write([]byte(b))
			return
		}
		_ = json.NewEncoder(w).Encode(c)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func newChecker(t *testing.T, cfg Config) *Checker {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// declaration is a normalized declaration about the holder of cccd.
func declaration(cccd, name string, born canonical.BirthDate, g canonical.Gender) canonical.Declaration {
	return canonical.Declaration{Person: canonical.Person{
		FullName:  name,
		BirthDate: born,
		Gender:    g,
		Document:  canonical.Document{Type: canonical.DocumentCCCD, Number: cccd},
	}}
}

func day(y, m, d int) canonical.BirthDate {
	return canonical.BirthDate{Year: y, Month: m, Day: d, Precision: canonical.PrecisionDay}
}

func year(y int) canonical.BirthDate {
	return canonical.BirthDate{Year: y, Precision: canonical.PrecisionYear}
}

// fields returns "field:reason" of each violation.
func fields(vs []canonical.Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Field+":"+string(v.Reason))
	}
	return out
}

func TestCheck(t *testing.T) {
	reg := newRegister(t)
	const an = "079084000123"
	tests := []struct {
		name         string
		d            canonical.Declaration
		want         []string // field:reason
		unverified   bool
		wantRequests int64 // requests this case sends to the register
	}{
		{"match", declaration(an, "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale), nil, false, 1},
		// The name is compared folded: case, diacritics and spacing do not matter.
		{"match folded name", declaration(an, "NGUYEN  van an", day(1984, 3, 5), canonical.GenderMale), nil, false, 0},
		// tokhaiyte asks for the birth year only: the year is all that is compared.
		{"match year-only birth date", declaration(an, "Nguyễn Văn An", year(1984), canonical.GenderMale), nil, false, 0},
		// Nothing declared, nothing compared.
		{"no gender or birth date declared", declaration(an, "Nguyễn Văn An", canonical.BirthDate{}, canonical.GenderUnspecified), nil, false, 0},
		{"name differs", declaration(an, "Nguyễn Văn Anh", day(1984, 3, 5), canonical.GenderMale),
			[]string{"person.full_name:registry_mismatch"}, false, 0},
		{"birth day differs", declaration(an, "Nguyễn Văn An", day(1984, 5, 3), canonical.GenderMale),
			[]string{"person.birth_date:registry_mismatch"}, false, 0},
		{"birth year differs", declaration(an, "Nguyễn Văn An", year(1985), canonical.GenderMale),
			[]string{"person.birth_date:registry_mismatch"}, false, 0},
		{"gender differs", declaration(an, "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderFemale),
			[]string{"person.gender:registry_mismatch"}, false, 0},
		// Someone else's card: every field is named.
		{"everything differs", declaration(an, "Trần Thị Đào", day(1990, 12, 31), canonical.GenderFemale),
			[]string{"person.full_name:registry_mismatch", "person.birth_date:registry_mismatch", "person.gender:registry_mismatch"}, false, 0},
		{"unknown CCCD", declaration("079084999999", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale),
			[]string{"person.document.number:registry_unknown"}, false, 1},
		// Only CCCDs are in the register: a CMND is not checked and costs no request.
		{"CMND not checked", canonical.Declaration{Person: canonical.Person{FullName: "X", Document: canonical.Document{Type: canonical.DocumentCMND, Number: "012345678"}}},
			nil, false, 0},
		{"no document", canonical.Declaration{Person: canonical.Person{FullName: "X"}}, nil, false, 0},
		// A malformed number is Validate's to report; it never reaches the register's URL.
		{"malformed CCCD", declaration("../../admin1", "X", year(1984), canonical.GenderMale), nil, false, 0},
	}
	c := newChecker(t, Config{BaseURL: reg.srv.URL})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reg.requests.Load()
			v := c.Check(context.Background(), tt.d)
			if got := fields(v.Violations); !slices.Equal(got, tt.want) {
				t.Errorf("violations = %v, want %v", got, tt.want)
			}
			if v.Unverified != tt.unverified {
				t.Errorf("Unverified = %v, want %v", v.Unverified, tt.unverified)
			}
			if got := reg.requests.Load() - before; got != tt.wantRequests {
				t.Errorf("register requests = %d, want %d (later checks of a CCCD come from the cache)", got, tt.wantRequests)
			}
			for _, v := range v.Violations {
				if strings.Contains(v.Message, "Nguy") || strings.Contains(v.Message, "1984") {
					t.Errorf("message %q repeats personal data", v.Message)
				}
			}
		})
	}
}

func TestCheckUsesTheNormalizedNameKey(t *testing.T) {
	reg := newRegister(t)
	c := newChecker(t, Config{BaseURL: reg.srv.URL})
	d := declaration("079084000123", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale)
	d.Person.NameKey = "nguyen van anh" // Normalize's key wins over the display name
	if got := fields(c.Check(context.Background(), d).Violations); !slices.Equal(got, []string{"person.full_name:registry_mismatch"}) {
		t.Errorf("violations = %v, want the name mismatch", got)
	}
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		down       bool
		cccd       string
		want       []string
		unverified bool
	}{
		{"down, default flags", Config{}, true, "079084000123", nil, true},
		{"down, reject", Config{OnUnavailable: PolicyReject}, true, "079084000123", []string{"person.document.number:registry_unavailable"}, false},
		{"unknown, default rejects", Config{}, false, "079084999999", []string{"person.document.number:registry_unknown"}, false},
		{"unknown, flag", Config{OnUnknown: PolicyFlag}, false, "079084999999", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegister(t)
			if tt.down {
				reg.status.Store(http.StatusServiceUnavailable)
			}
			tt.cfg.BaseURL = reg.srv.URL
			v := newChecker(t, tt.cfg).Check(context.Background(), declaration(tt.cccd, "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale))
			if got := fields(v.Violations); !slices.Equal(got, tt.want) || v.Unverified != tt.unverified {
				t.Errorf("verdict = %v unverified=%v, want %v unverified=%v", got, v.Unverified, tt.want, tt.unverified)
			}
		})
	}
}

func TestRegisterFailuresFlagTheDeclaration(t *testing.T) {
	tests := []struct {
		name string
		prep func(*register)
	}{
		{"503", func(r *register) { r.status.Store(http.StatusServiceUnavailable) }},
		{"429", func(r *register) { r.status.Store(http.StatusTooManyRequests) }},
		{"401", func(r *register) { r.status.Store(http.StatusUnauthorized) }},
		{"truncated JSON", func(r *register) { r.body.Store(`{"cccd":"079084000123","full_na`) }},
		// An answer about another card must not vouch for this one.
		{"answer for another CCCD", func(r *register) { r.body.Store(`{"cccd":"001190000456","full_name":"Nguyễn Văn An"}`) }},
		{"connection refused", func(r *register) { r.srv.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegister(t)
			tt.prep(reg)
			c := newChecker(t, Config{BaseURL: reg.srv.URL})
			v := c.Check(context.Background(), declaration("079084000123", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale))
			if !v.Unverified || len(v.Violations) != 0 {
				t.Errorf("verdict = %+v, want flagged unverified", v)
			}
			// A failure is never cached: the next check asks again.
			before := reg.requests.Load()
			c.Check(context.Background(), declaration("079084000123", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale))
			if tt.name != "connection refused" && reg.requests.Load() == before {
				t.Error("a failed answer was cached")
			}
		})
	}
}

func TestBreaker(t *testing.T) {
	d := declaration("079084000123", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale)
	ctx := context.Background()

	t.Run("opens after N failures and stops asking", func(t *testing.T) {
		reg := newRegister(t)
		reg.status.Store(http.StatusBadGateway)
		c := newChecker(t, Config{BaseURL: reg.srv.URL, Breaker: BreakerConfig{Failures: 3, Timeout: time.Hour}})
		for range 3 {
			if v := c.Check(ctx, d); !v.Unverified {
				t.Fatalf("verdict while down = %+v, want unverified", v)
			}
		}
		if s := c.BreakerState(); s != "open" {
			t.Fatalf("breaker %s after 3 failures, want open", s)
		}
		for range 5 {
			if v := c.Check(ctx, d); !v.Unverified {
				t.Errorf("verdict with the breaker open = %+v, want unverified", v)
			}
		}
		if got := reg.requests.Load(); got != 3 {
			t.Errorf("register got %d requests, want 3 (none while open)", got)
		}
	})

	t.Run("half-opens and closes when the register recovers", func(t *testing.T) {
		reg := newRegister(t)
		reg.status.Store(http.StatusBadGateway)
		// gobreaker measures its open period on the wall clock; a millisecond always passes
		// while the test checks again, so this waits on a condition, not on speed.
		c := newChecker(t, Config{BaseURL: reg.srv.URL, Breaker: BreakerConfig{Failures: 3, Timeout: time.Millisecond}})
		for range 3 {
			c.Check(ctx, d)
		}
		if s := c.BreakerState(); s == "closed" {
			t.Fatalf("breaker closed after 3 failures")
		}
		reg.status.Store(0) // the register recovers
		deadline := time.Now().Add(10 * time.Second)
		for {
			v := c.Check(ctx, d)
			if !v.Unverified {
				if len(v.Violations) != 0 {
					t.Errorf("violations after recovery: %v", v.Violations)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the breaker did not close after the register recovered")
			}
		}
		if s := c.BreakerState(); s != "closed" {
			t.Errorf("breaker %s after a successful trial, want closed", s)
		}
	})
}

func TestRefusedCredentialsDoNotTripTheBreaker(t *testing.T) {
	reg := newRegister(t)
	reg.status.Store(http.StatusForbidden)
	c := newChecker(t, Config{BaseURL: reg.srv.URL, Breaker: BreakerConfig{Failures: 2, Timeout: time.Hour}})
	for range 5 {
		c.Check(context.Background(), declaration("079084000123", "A", year(1984), canonical.GenderMale))
	}
	if s := c.BreakerState(); s != "closed" {
		t.Errorf("breaker %s after 403s, want closed", s)
	}
	if got := reg.requests.Load(); got != 5 {
		t.Errorf("register got %d requests, want all 5", got)
	}
}

func TestCache(t *testing.T) {
	reg := newRegister(t)
	now := time.Date(2021, 8, 14, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	c := newChecker(t, Config{BaseURL: reg.srv.URL, CacheTTL: 10 * time.Minute, CacheSize: 2, Now: clock})
	check := func(cccd string) {
		c.Check(context.Background(), declaration(cccd, "A", year(1984), canonical.GenderMale))
	}
	requests := func() int64 { return reg.requests.Load() }

	check("079084000123")
	check("079084000123")
	if got := requests(); got != 1 {
		t.Errorf("two checks of one CCCD sent %d requests, want 1", got)
	}
	// "Unknown" is an answer too, and is cached.
	check("079084999999")
	check("079084999999")
	if got := requests(); got != 2 {
		t.Errorf("requests = %d, want 2 (404 cached)", got)
	}
	advance(10 * time.Minute)
	check("079084000123")
	if got := requests(); got != 3 {
		t.Errorf("requests = %d, want 3 (the answer expired)", got)
	}
	// CacheSize 2: a third CCCD evicts the least recently used (the unknown one).
	check("001190000456")
	check("079084000123")
	if got := requests(); got != 4 {
		t.Errorf("requests = %d, want 4 (both still cached)", got)
	}
	check("079084999999")
	if got := requests(); got != 5 {
		t.Errorf("requests = %d, want 5 (evicted, asked again)", got)
	}
	if n := c.cache.len(); n != 2 {
		t.Errorf("cache holds %d answers, want at most 2", n)
	}
}

func TestConcurrentChecks(t *testing.T) {
	reg := newRegister(t)
	c := newChecker(t, Config{BaseURL: reg.srv.URL})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			cccd := []string{"079084000123", "001190000456", "079084999999"}[i%3]
			for range 20 {
				c.Check(context.Background(), declaration(cccd, "A", year(1984), canonical.GenderMale))
			}
		})
	}
	wg.Wait()
	// Each CCCD is asked once: concurrent first lookups share the request, later ones hit
	// the cache.
	if got := reg.requests.Load(); got != 3 {
		t.Errorf("register got %d requests, want 3", got)
	}
}

// slowRegister answers only once the test releases it; arrived is signalled on each request.
func slowRegister(t *testing.T) (reg *register, arrived chan struct{}, release chan struct{}) {
	reg = newRegister(t)
	arrived, release = make(chan struct{}, 16), make(chan struct{})
	wait := func(r *http.Request) bool {
		arrived <- struct{}{}
		select {
		case <-release:
			return true
		case <-r.Context().Done():
			return false
		}
	}
	reg.before.Store(&wait)
	return reg, arrived, release
}

func TestConcurrentLookupsShareOneRequest(t *testing.T) {
	reg, arrived, release := slowRegister(t)
	c := newChecker(t, Config{BaseURL: reg.srv.URL})
	d := declaration("079084000123", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale)
	verdicts := make(chan Verdict, 5)
	go func() { verdicts <- c.Check(context.Background(), d) }()
	<-arrived // the first lookup is at the register: the others can only join it
	for range 4 {
		go func() { verdicts <- c.Check(context.Background(), d) }()
	}
	close(release)
	for range 5 {
		if v := <-verdicts; v.Unverified || len(v.Violations) != 0 {
			t.Errorf("verdict = %+v, want a match", v)
		}
	}
	if got := reg.requests.Load(); got != 1 {
		t.Errorf("register got %d requests, want 1", got)
	}
}

func TestAFollowerOutlivesALeaderThatGaveUp(t *testing.T) {
	reg, arrived, release := slowRegister(t)
	c := newChecker(t, Config{BaseURL: reg.srv.URL})
	d := declaration("079084000123", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale)
	leaderCtx, cancel := context.WithCancel(context.Background())
	leader := make(chan Verdict, 1)
	go func() { leader <- c.Check(leaderCtx, d) }()
	<-arrived
	follower := make(chan Verdict, 1)
	go func() { follower <- c.Check(context.Background(), d) }()
	cancel()
	if v := <-leader; !v.Unverified {
		t.Errorf("the leader that gave up got %+v, want unverified", v)
	}
	<-arrived // the follower asks for itself
	close(release)
	if v := <-follower; v.Unverified || len(v.Violations) != 0 {
		t.Errorf("follower verdict = %+v, want a match", v)
	}
	if s := c.BreakerState(); s != "closed" {
		t.Errorf("breaker %s, want closed", s)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"no base URL", Config{}, "BaseURL"},
		{"not http", Config{BaseURL: "ftp://register"}, "BaseURL"},
		{"no host", Config{BaseURL: "http://"}, "BaseURL"},
		{"negative timeout", Config{BaseURL: "http://r", Timeout: -1}, "Timeout"},
		{"negative cache size", Config{BaseURL: "http://r", CacheSize: -1}, "CacheSize"},
		{"unknown policy", Config{BaseURL: "http://r", OnUnavailable: "ignore"}, "OnUnavailable"},
		{"unknown policy for unknown", Config{BaseURL: "http://r", OnUnknown: "accept"}, "OnUnknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("New = %v, want an invalid error naming %s", err, tt.field)
			}
		})
	}
}

func TestCallerCancellationDoesNotTripTheBreaker(t *testing.T) {
	reg := newRegister(t)
	c := newChecker(t, Config{BaseURL: reg.srv.URL, Breaker: BreakerConfig{Failures: 2, Timeout: time.Hour}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 5 {
		if v := c.Check(ctx, declaration("079084000123", "A", year(1984), canonical.GenderMale)); !v.Unverified {
			t.Errorf("verdict for a cancelled check = %+v, want unverified", v)
		}
	}
	if s := c.BreakerState(); s != "closed" {
		t.Errorf("breaker %s after cancelled checks, want closed", s)
	}
}

// FuzzCompare: whatever the register and the declaration say, compare never panics, names
// only the three compared fields, each at most once, and a declaration that repeats the
// register's own record matches it.
func FuzzCompare(f *testing.F) {
	// register name, date of birth, gender; declared name, year, month, day, precision, gender
	f.Add("Nguyễn Văn An", "1984-03-05", "male", "Nguyễn Văn An", 1984, 3, 5, 2, 1)
	f.Add("Trần Thị Đào", "1990-12-31", "female", "TRAN THI DAO", 1990, 0, 0, 1, 2) // folded, year-only
	f.Add("", "", "", "", 0, 0, 0, 0, 0)                                            // nothing on either side
	f.Add("Lê  Văn\tBa", "31/12/1990", "unknown", "Le Van Ba", 1990, 12, 31, 2, 3)  // odd register values
	f.Add("A\xff", "1984-02-30", "other", "a\ufffd", -1, 13, 40, 7, 9)              // invalid UTF-8, impossible dates
	f.Fuzz(func(t *testing.T, regName, regDOB, regGender, name string, y, m, d, prec, gender int) {
		reg := citizen{CCCD: "079084000123", FullName: regName, DateOfBirth: regDOB, Gender: regGender}
		p := canonical.Person{
			FullName:  name,
			BirthDate: canonical.BirthDate{Year: y, Month: m, Day: d, Precision: canonical.DatePrecision(prec)},
			Gender:    canonical.Gender(gender),
		}
		seen := map[string]bool{}
		for _, v := range compare(p, reg, canonical.FoldName(regName)) {
			if v.Reason != canonical.ReasonRegistryMismatch || seen[v.Field] {
				t.Fatalf("unexpected or repeated violation %v", v)
			}
			switch v.Field {
			case "person.full_name", "person.birth_date", "person.gender":
			default:
				t.Fatalf("violation names field %q", v.Field)
			}
			seen[v.Field] = true
		}
		// The register's own record never contradicts itself.
		self := canonical.Person{FullName: regName, Gender: genderOf(regGender)}
		if b, err := canonical.ParseBirthDate(regDOB); err == nil {
			self.BirthDate = b
		}
		if vs := compare(self, reg, canonical.FoldName(regName)); len(vs) != 0 {
			t.Fatalf("the register's own record mismatches: %v", vs)
		}
	})
}

// BenchmarkCheckCached measures a check answered from the cache, the common case at a
// checkpoint's ingest rate.
func BenchmarkCheckCached(b *testing.B) {
	reg := newRegister(b)
	c, err := New(Config{BaseURL: reg.srv.URL}, nil)
	if err != nil {
		b.Fatal(err)
	}
	d := declaration("079084000123", "Nguyễn Văn An", day(1984, 3, 5), canonical.GenderMale)
	d.Person.NameKey = canonical.FoldName(d.Person.FullName) // as Normalize leaves it
	c.Check(context.Background(), d)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v := c.Check(context.Background(), d); len(v.Violations) != 0 || v.Unverified {
				b.Fatalf("verdict %+v", v)
			}
		}
	})
}
