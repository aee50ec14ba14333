package tokhaiyte

import (
	"errors"
	"net/url"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// Defaults of the export windows.
const (
	DefaultWindow  = time.Hour
	DefaultOverlap = 5 * time.Minute
	DefaultBack    = 7 * 24 * time.Hour // how far back to begin when no cursor is stored
	DefaultTimeout = 2 * time.Minute
)

// Config configures the tokhaiyte source.
type Config struct {
	BaseURL string           // e.g. https://tokhaiyte.example; the export is at {BaseURL}/export/khai-bao.csv
	APIKey  string           // sent as X-Api-Key
	Window  time.Duration    // the longest window one fetch asks for; 0 means DefaultWindow
	Overlap time.Duration    // how far before the high-water mark each window starts; 0 means DefaultOverlap, <0 none
	Start   time.Time        // where to begin when no cursor is stored; zero means Now() - DefaultBack
	Timeout time.Duration    // for one export, request to last byte; 0 means DefaultTimeout
	Now     func() time.Time // the gateway's clock; nil means time.Now
}

// Validate reports the first setting that is wrong, with kind errs.Invalid.
func (c Config) Validate() error {
	const op = "tokhaiyte.Config"
	u, err := url.Parse(c.BaseURL)
	d := c.withDefaults()
	switch {
	case c.BaseURL == "":
		return errs.E(errs.Invalid, op, errors.New("BaseURL: required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errs.E(errs.Invalid, op, errors.New("BaseURL: must be an http or https URL with a host"))
	case u.RawQuery != "" || u.Fragment != "":
		return errs.E(errs.Invalid, op, errors.New("BaseURL: must have no query or fragment"))
	case c.APIKey == "":
		return errs.E(errs.Invalid, op, errors.New("APIKey: required"))
	case c.Window < 0:
		return errs.E(errs.Invalid, op, errors.New("Window: must not be negative"))
	case c.Timeout < 0:
		return errs.E(errs.Invalid, op, errors.New("Timeout: must not be negative"))
	case d.Window < time.Second:
		return errs.E(errs.Invalid, op, errors.New("Window: must be at least a second"))
	case d.Window <= d.Overlap:
		// Each window must reach past the previous high-water mark, or the cursor never moves.
		return errs.E(errs.Invalid, op, errors.New("Window: must be longer than Overlap"))
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	switch {
	case c.Overlap == 0:
		c.Overlap = DefaultOverlap
	case c.Overlap < 0:
		c.Overlap = 0
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
