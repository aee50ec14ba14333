// Package registry checks CCCD declarations against the national population register: the
// name, birth date and gender the register holds for the card number must match the declared
// ones.
//
// The register answers GET {base}/v1/citizens/{cccd} with 200 and the citizen as JSON, or 404
// for a number it does not know. Answers (both kinds) are cached; one circuit breaker guards
// the register, and while it is down declarations are flagged unverified or rejected, as
// configured.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/sony/gobreaker/v2"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// maxBody bounds the register's answer; a citizen is a few hundred bytes.
const maxBody = 64 << 10

// Verdict is the register's judgement of one declaration.
type Verdict struct {
	// Violations lists what the register contradicts (registry_mismatch per field), or
	// registry_unknown, or registry_unavailable in reject mode. Empty when it agrees.
	Violations []canonical.Violation
	// Unverified is set when the register could not confirm the CCCD and the policy is to
	// accept the declaration flagged.
	Unverified bool
}

// Checker asks the population register about CCCD declarations. It is safe for concurrent use.
type Checker struct {
	cfg     Config
	client  *http.Client
	base    *url.URL
	cache   *cache
	breaker *gobreaker.CircuitBreaker[answer]

	mu       sync.Mutex
	inflight map[string]*flight // CCCDs being asked now
}

// answer is what the register said about one CCCD.
type answer struct {
	known   bool
	citizen citizen
	nameKey string // canonical.FoldName of the citizen's name, folded once per answer
}

// citizen is the register's record, as it sends it.
type citizen struct {
	CCCD         string `json:"cccd"`
	FullName     string `json:"full_name"`
	DateOfBirth  string `json:"date_of_birth"` // yyyy-mm-dd
	Gender       string `json:"gender"`        // male, female, other
	ProvinceCode string `json:"province_code"`
}

// New returns a Checker that calls the register with client (http.DefaultClient when nil).
func New(cfg Config, client *http.Client) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	base, _ := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if client == nil {
		client = http.DefaultClient
	}
	failures := cfg.Breaker.Failures
	c := &Checker{cfg: cfg, client: client, base: base, cache: newCache(cfg.CacheSize), inflight: map[string]*flight{}}
	c.breaker = gobreaker.NewCircuitBreaker[answer](gobreaker.Settings{
		Name:        "population-register",
		Timeout:     cfg.Breaker.Timeout,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		// Only the register's unavailability counts; a refused credential does not.
		IsSuccessful: func(err error) bool { return err == nil || !errs.Is(err, errs.Transient) },
		// A caller that gave up says nothing about the register.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			cfg.Logger.Warn("registry: circuit breaker changed", "breaker", name, "from", from.String(), "to", to.String())
		},
	})
	return c, nil
}

// BreakerState returns the register breaker's state: "closed", "half-open" or "open".
func (c *Checker) BreakerState() string { return c.breaker.State().String() }

// Check compares a normalized declaration with the register. Only declarations whose document
// is a well-formed CCCD (12 digits) are checked; the others get an empty verdict. It never fails: when the register
// cannot answer, the verdict says so according to Config.OnUnavailable.
func (c *Checker) Check(ctx context.Context, d canonical.Declaration) Verdict {
	if d.Person.Document.Type != canonical.DocumentCCCD || !wellFormed(d.Person.Document.Number) {
		return Verdict{} // not a CCCD, or a malformed one, which Validate reports
	}
	a, err := c.lookup(ctx, d.Person.Document.Number)
	if err != nil {
		if c.cfg.OnUnavailable == PolicyReject {
			return Verdict{Violations: []canonical.Violation{{
				Field:   "person.document.number",
				Reason:  canonical.ReasonRegistryUnavailable,
				Message: "the population register could not be asked to confirm the CCCD; submit again later",
			}}}
		}
		return Verdict{Unverified: true}
	}
	if !a.known {
		if c.cfg.OnUnknown == PolicyFlag {
			return Verdict{Unverified: true}
		}
		return Verdict{Violations: []canonical.Violation{{
			Field:   "person.document.number",
			Reason:  canonical.ReasonRegistryUnknown,
			Message: "the population register does not know this CCCD",
		}}}
	}
	return Verdict{Violations: compare(d.Person, a.citizen, a.nameKey)}
}

// compare lists the fields on which the register contradicts the declared person; regKey is
// the register's name folded. A field either side left empty is not compared.
func compare(p canonical.Person, reg citizen, regKey string) []canonical.Violation {
	var vs []canonical.Violation
	mismatch := func(field, what string) {
		vs = append(vs, canonical.Violation{
			Field:   field,
			Reason:  canonical.ReasonRegistryMismatch,
			Message: "the population register holds a different " + what + " for this CCCD",
		})
	}
	declared := p.NameKey
	if declared == "" {
		declared = canonical.FoldName(p.FullName)
	}
	if declared != "" && regKey != "" && declared != regKey {
		mismatch("person.full_name", "name")
	}
	if born, err := canonical.ParseBirthDate(reg.DateOfBirth); err == nil && born.Precision == canonical.PrecisionDay {
		switch p.BirthDate.Precision {
		case canonical.PrecisionYear: // tokhaiyte asks for the year only
			if p.BirthDate.Year != born.Year {
				mismatch("person.birth_date", "birth year")
			}
		case canonical.PrecisionDay:
			if p.BirthDate.Year != born.Year || p.BirthDate.Month != born.Month || p.BirthDate.Day != born.Day {
				mismatch("person.birth_date", "birth date")
			}
		}
	}
	if g := genderOf(reg.Gender); g != canonical.GenderUnspecified && p.Gender != canonical.GenderUnspecified && g != p.Gender {
		mismatch("person.gender", "gender")
	}
	return vs
}

// wellFormed reports whether number has a CCCD's shape (12 digits), so it can go in a URL
// path as it is.
func wellFormed(number string) bool {
	if len(number) != 12 {
		return false
	}
	for i := range len(number) {
		if number[i] < '0' || number[i] > '9' {
			return false
		}
	}
	return true
}

func genderOf(s string) canonical.Gender {
	switch s {
	case "male":
		return canonical.GenderMale
	case "female":
		return canonical.GenderFemale
	case "other":
		return canonical.GenderOther
	}
	return canonical.GenderUnspecified
}

// lookup returns the register's answer for cccd, from the cache when it is fresh. Concurrent
// lookups of one CCCD share a single request.
func (c *Checker) lookup(ctx context.Context, cccd string) (answer, error) {
	for {
		if a, ok := c.cache.get(cccd, c.cfg.Now()); ok {
			return a, nil
		}
		c.mu.Lock()
		f, follow := c.inflight[cccd]
		if !follow {
			f = &flight{done: make(chan struct{})}
			c.inflight[cccd] = f
		}
		c.mu.Unlock()
		if !follow {
			return c.lead(ctx, cccd, f)
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return answer{}, errs.E(errs.Transient, "registry.Check", ctx.Err())
		}
		if f.err != nil && errors.Is(f.err, context.Canceled) && ctx.Err() == nil {
			continue // the leading caller gave up, which says nothing about this one: ask again
		}
		return f.a, f.err
	}
}

// flight is one request to the register that concurrent lookups of a CCCD wait for.
type flight struct {
	done chan struct{}
	a    answer
	err  error
}

// lead asks the register for cccd on behalf of every lookup waiting on f.
func (c *Checker) lead(ctx context.Context, cccd string, f *flight) (answer, error) {
	defer func() {
		c.mu.Lock()
		delete(c.inflight, cccd)
		c.mu.Unlock()
		close(f.done)
	}()
	f.a, f.err = c.breaker.Execute(func() (answer, error) { return c.fetch(ctx, cccd) })
	if f.err == nil {
		c.cache.put(cccd, f.a, c.cfg.Now().Add(c.cfg.CacheTTL))
	}
	return f.a, f.err
}

// fetch asks the register. Errors: errs.Transient when the register is unavailable (network,
// time-out, 429, 5xx, an unreadable answer), errs.Permission when it refuses our credentials,
// errs.Other for anything else it answers.
func (c *Checker) fetch(ctx context.Context, cccd string) (answer, error) {
	const op = "registry.Check"
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := c.base.JoinPath("v1", "citizens", cccd)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return answer{}, errs.E(errs.Other, op, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return answer{}, errs.E(errs.Transient, op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return answer{}, errs.E(errs.Transient, op, fmt.Errorf("read answer: %w", err))
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return answer{known: false}, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return answer{}, errs.Errorf(errs.Transient, op, "register answered %s", resp.Status)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return answer{}, errs.Errorf(errs.Permission, op, "register refused our credentials: %s", resp.Status)
	default:
		return answer{}, errs.Errorf(errs.Other, op, "register answered %s", resp.Status)
	}
	if len(body) > maxBody {
		return answer{}, errs.Errorf(errs.Transient, op, "answer longer than %d bytes", maxBody)
	}
	var cz citizen
	if err := json.Unmarshal(body, &cz); err != nil {
		return answer{}, errs.E(errs.Transient, op, fmt.Errorf("decode answer: %w", err))
	}
	if cz.CCCD != cccd {
		return answer{}, errs.Errorf(errs.Transient, op, "register answered for another CCCD")
	}
	return answer{known: true, citizen: cz, nameKey: canonical.FoldName(cz.FullName)}, nil
}
