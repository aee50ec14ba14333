package pull

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// Defaults for the zero values of Config.
const (
	DefaultPollInterval     = 5 * time.Second
	DefaultLeaseTTL         = 15 * time.Second
	DefaultBackoffBase      = 500 * time.Millisecond
	DefaultBackoffMax       = time.Minute
	DefaultBreakerFailures  = 5
	DefaultBreakerTimeout   = 30 * time.Second
	DefaultHalfOpenRequests = 1
)

// Config configures one partner's runner. The zero value of every field but Holder is
// usable: New fills in the defaults.
type Config struct {
	// Holder names this replica in the partner's lease (host name, pod name); required.
	Holder string
	// PollInterval is how long to wait when the partner has nothing more (default 5 s).
	PollInterval time.Duration
	// LeaseTTL is how long the lease lasts without renewal (default 15 s). The runner renews it
	// once a third of it has passed: at the start of a cycle, and while it waits.
	LeaseTTL time.Duration
	// BackoffBase and BackoffMax bound the wait after a failure: a uniformly random duration
	// in [0, min(BackoffMax, BackoffBase·2^(n-1))) after the n-th failure in a row ("full
	// jitter"). Defaults 500 ms and 1 min.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Breaker configures the partner's circuit breaker.
	Breaker BreakerConfig
	// Rand returns a uniform float in [0, 1) for the jitter (default math/rand/v2.Float64).
	Rand func() float64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// After is the timer the runner waits on (default time.After); tests inject their own.
	After func(d time.Duration) <-chan time.Time
	// Logger receives the runner's log (default slog.Default()).
	Logger *slog.Logger
	// Observer is told what happens, for metrics; every callback is optional.
	Observer Observer
}

// BreakerConfig configures a partner's circuit breaker.
type BreakerConfig struct {
	// Failures is how many transient fetch failures in a row open the breaker (default 5).
	Failures uint32
	// Timeout is how long the breaker stays open before it lets one trial fetch through
	// (half-open), default 30 s. gobreaker measures it on the wall clock, not on Config.Now.
	Timeout time.Duration
	// HalfOpenRequests is how many successful trial fetches close it again (default 1).
	HalfOpenRequests uint32
}

// Observer receives the runner's events for metrics. The callbacks are called from the
// runner's goroutine (BreakerChanged from inside gobreaker's lock: it must not call back into
// the runner) and must not block.
type Observer struct {
	// BreakerChanged is called when the partner's breaker changes state.
	BreakerChanged func(partner string, from, to BreakerState)
	// FetchFailed is called after each failed fetch with its error kind and the number of
	// failures in a row (the breaker's own rejections while open are not counted).
	FetchFailed func(partner string, kind errs.Kind, consecutive int)
	// Committed is called after a page was ingested and its cursor saved: how many
	// declarations it held and the lag, Now minus the newest declared time in the page (0 for
	// an empty page).
	Committed func(partner string, pulled int, lag time.Duration)
	// LeaseChanged is called when the runner gains or loses the partner's lease.
	LeaseChanged func(partner string, holding bool)
}

// Validate checks cfg and returns an errs.Invalid error naming the first bad field.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults returns cfg with its zero values replaced by the defaults, or an error naming
// the field that cannot be used.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Holder == "" {
		return cfg, errs.E(errs.Invalid, "pull.Config", errors.New("Holder: required"))
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.Breaker.Failures == 0 {
		cfg.Breaker.Failures = DefaultBreakerFailures
	}
	if cfg.Breaker.Timeout == 0 {
		cfg.Breaker.Timeout = DefaultBreakerTimeout
	}
	if cfg.Breaker.HalfOpenRequests == 0 {
		cfg.Breaker.HalfOpenRequests = DefaultHalfOpenRequests
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"PollInterval", cfg.PollInterval},
		{"LeaseTTL", cfg.LeaseTTL},
		{"BackoffBase", cfg.BackoffBase},
		{"BackoffMax", cfg.BackoffMax},
		{"Breaker.Timeout", cfg.Breaker.Timeout},
	} {
		if d.v < 0 {
			return cfg, errs.Errorf(errs.Invalid, "pull.Config", "%s: must not be negative, got %s", d.name, d.v)
		}
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		return cfg, errs.Errorf(errs.Invalid, "pull.Config", "BackoffMax: %s is less than BackoffBase %s", cfg.BackoffMax, cfg.BackoffBase)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// backoff returns the wait after the n-th failure in a row (n ≥ 1), with full jitter.
func (cfg Config) backoff(n int) time.Duration {
	ceiling := cfg.BackoffMax
	if n < 1 {
		n = 1
	}
	if n-1 < 62 {
		if d := cfg.BackoffBase << (n - 1); d > 0 && d < ceiling && d>>(n-1) == cfg.BackoffBase {
			ceiling = d
		}
	}
	return time.Duration(cfg.Rand() * float64(ceiling))
}
