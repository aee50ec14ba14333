package registry

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// Policy says what a declaration gets when the register cannot confirm its CCCD.
type Policy string

// The policies.
const (
	PolicyFlag   Policy = "flag"   // accept it, marked unverified
	PolicyReject Policy = "reject" // reject it with a violation
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout         = 2 * time.Second
	DefaultCacheTTL        = 10 * time.Minute
	DefaultCacheSize       = 100_000
	DefaultBreakerFailures = 5
	DefaultBreakerTimeout  = 30 * time.Second
)

// Config configures a Checker. Only BaseURL is required.
type Config struct {
	// BaseURL is the register's address, e.g. "https://register.example/" (http or https).
	BaseURL string
	// Timeout bounds one request to the register (default 2 s).
	Timeout time.Duration
	// CacheTTL is how long an answer (a citizen or "unknown") is reused (default 10 min).
	CacheTTL time.Duration
	// CacheSize is how many answers are kept at most; the least recently used go first
	// (default 100 000).
	CacheSize int
	// OnUnavailable is the policy when the register cannot be asked (down, time-out, breaker
	// open): "flag" (default) accepts the declaration as unverified, "reject" rejects it with
	// registry_unavailable.
	OnUnavailable Policy
	// OnUnknown is the policy when the register does not know the CCCD: "reject" (default)
	// rejects with registry_unknown, "flag" accepts it as unverified.
	OnUnknown Policy
	// Breaker configures the register's circuit breaker.
	Breaker BreakerConfig
	// Now is the clock for the cache (default time.Now).
	Now func() time.Time
	// Logger receives the breaker's state changes (default slog.Default()).
	Logger *slog.Logger
}

// BreakerConfig configures the register's circuit breaker.
type BreakerConfig struct {
	// Failures is how many failed requests in a row open the breaker (default 5).
	Failures uint32
	// Timeout is how long it stays open before one trial request (default 30 s); gobreaker
	// measures it on the wall clock.
	Timeout time.Duration
}

// Validate checks cfg and returns an errs.Invalid error naming the first bad field.
func (cfg Config) Validate() error {
	const op = "registry.Config"
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		return errs.Errorf(errs.Invalid, op, "BaseURL: required")
	case err != nil:
		return errs.Errorf(errs.Invalid, op, "BaseURL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return errs.Errorf(errs.Invalid, op, "BaseURL: %q is not an http or https address", cfg.BaseURL)
	case cfg.Timeout < 0:
		return errs.Errorf(errs.Invalid, op, "Timeout: must not be negative, got %s", cfg.Timeout)
	case cfg.CacheTTL < 0:
		return errs.Errorf(errs.Invalid, op, "CacheTTL: must not be negative, got %s", cfg.CacheTTL)
	case cfg.CacheSize < 0:
		return errs.Errorf(errs.Invalid, op, "CacheSize: must not be negative, got %d", cfg.CacheSize)
	case cfg.Breaker.Timeout < 0:
		return errs.Errorf(errs.Invalid, op, "Breaker.Timeout: must not be negative, got %s", cfg.Breaker.Timeout)
	}
	for _, p := range []struct {
		name string
		v    Policy
	}{{"OnUnavailable", cfg.OnUnavailable}, {"OnUnknown", cfg.OnUnknown}} {
		if p.v != "" && p.v != PolicyFlag && p.v != PolicyReject {
			return errs.Errorf(errs.Invalid, op, "%s: %q is neither %q nor %q", p.name, p.v, PolicyFlag, PolicyReject)
		}
	}
	return nil
}

func (cfg Config) withDefaults() Config {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.OnUnavailable == "" {
		cfg.OnUnavailable = PolicyFlag
	}
	if cfg.OnUnknown == "" {
		cfg.OnUnknown = PolicyReject
	}
	if cfg.Breaker.Failures == 0 {
		cfg.Breaker.Failures = DefaultBreakerFailures
	}
	if cfg.Breaker.Timeout == 0 {
		cfg.Breaker.Timeout = DefaultBreakerTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}
