package ncovi

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// Defaults and limits of the feed.
const (
	DefaultPageSize = 500
	MaxPageSize     = 500
	DefaultTimeout  = 30 * time.Second
)

// Config configures the NCOVI source.
type Config struct {
	BaseURL  string           // e.g. https://api.ncovi.example; the feed is at {BaseURL}/api/v1/declarations
	Token    string           // the bearer token NCOVI issued to the gateway
	PageSize int              // records per page, 1..500; 0 means DefaultPageSize
	Timeout  time.Duration    // for one page, request to last byte; 0 means DefaultTimeout
	Now      func() time.Time // the clock, for a Retry-After given as a date; nil means time.Now
}

// Validate reports the first setting that is wrong, with kind errs.Invalid.
func (c Config) Validate() error {
	const op = "ncovi.Config"
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return errs.E(errs.Invalid, op, errors.New("BaseURL: required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errs.E(errs.Invalid, op, errors.New("BaseURL: must be an http or https URL with a host"))
	case u.RawQuery != "" || u.Fragment != "":
		return errs.E(errs.Invalid, op, errors.New("BaseURL: must have no query or fragment"))
	case c.Token == "":
		return errs.E(errs.Invalid, op, errors.New("Token: required"))
	case c.PageSize < 0 || c.PageSize > MaxPageSize:
		return errs.E(errs.Invalid, op, fmt.Errorf("PageSize: must be 1..%d", MaxPageSize))
	case c.Timeout < 0:
		return errs.E(errs.Invalid, op, errors.New("Timeout: must not be negative"))
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
