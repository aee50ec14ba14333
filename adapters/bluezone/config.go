package bluezone

import (
	"errors"
	"log/slog"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// Defaults of the webhook's limits, as partner-formats.md sets them.
const (
	DefaultMaxItems = 1000
	DefaultMaxBody  = 4 << 20 // 4 MiB
	DefaultSkew     = 300 * time.Second
)

// Config configures the Bluezone webhook.
type Config struct {
	Secret   []byte           // the HMAC-SHA256 key shared with Bluezone; required
	MaxItems int              // most items in one batch; 0 means DefaultMaxItems
	MaxBody  int64            // most bytes in one body; 0 means DefaultMaxBody
	Skew     time.Duration    // how far X-Bluezone-Timestamp may be from Now; 0 means DefaultSkew
	Now      func() time.Time // the gateway's clock; nil means time.Now
	Logger   *slog.Logger     // nil means no logging
}

// Validate reports the first setting that is wrong, with kind errs.Invalid.
func (c Config) Validate() error {
	const op = "bluezone.Config"
	switch {
	case len(c.Secret) == 0:
		return errs.E(errs.Invalid, op, errors.New("Secret: required"))
	case c.MaxItems < 0:
		return errs.E(errs.Invalid, op, errors.New("MaxItems: must not be negative"))
	case c.MaxBody < 0:
		return errs.E(errs.Invalid, op, errors.New("MaxBody: must not be negative"))
	case c.Skew < 0:
		return errs.E(errs.Invalid, op, errors.New("Skew: must not be negative"))
	}
	return nil
}

// withDefaults fills in the zero settings.
func (c Config) withDefaults() Config {
	if c.MaxItems == 0 {
		c.MaxItems = DefaultMaxItems
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.Skew == 0 {
		c.Skew = DefaultSkew
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
