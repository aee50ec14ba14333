package ncovi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/internal/partnerhttp"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// maxPageBytes bounds one page: 500 records of a few kilobytes each fit many times over.
const maxPageBytes = 32 << 20

// FeedPath is the feed's path under the base URL.
const FeedPath = "/api/v1/declarations"

// Source reads NCOVI's feed by cursor. It keeps no state: the runner stores the cursor.
type Source struct {
	cfg    Config
	client *http.Client
	feed   string
}

var _ adapters.Source = (*Source)(nil)

// New returns the NCOVI source. client nil means a new client with no overall time-out (each
// Fetch has its own, Config.Timeout).
func New(cfg Config, client *http.Client) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Source{cfg: cfg.withDefaults(), client: client, feed: strings.TrimRight(cfg.BaseURL, "/") + FeedPath}, nil
}

// Name returns canonical.PlatformNCOVI.
func (s *Source) Name() canonical.Platform { return canonical.PlatformNCOVI }

// Fetch returns the page after cursor ("" for the beginning). Page.Next is the page's
// next_cursor; when NCOVI gives none, it is cursor itself, so the next fetch resumes at the
// same place (and the store ignores what it sees again). Errors: 401/403 errs.Permission;
// 429 errs.Transient with adapters.RetryAfter; 5xx, time-outs, dropped connections and
// truncated JSON errs.Transient; a body of the wrong shape errs.Invalid.
func (s *Source) Fetch(ctx context.Context, cursor string) (adapters.Page, error) {
	const op = "ncovi.Fetch"
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	q.Set("limit", strconv.Itoa(s.cfg.PageSize))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.feed+"?"+q.Encode(), nil)
	if err != nil {
		return adapters.Page{}, errs.E(errs.Invalid, op, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	req.Header.Set("Accept", "application/json")

	resp, err := partnerhttp.Do(s.client, req, op, s.cfg.Now)
	if err != nil {
		return adapters.Page{}, err
	}
	defer resp.Body.Close()
	body, err := partnerhttp.ReadBody(ctx, resp.Body, maxPageBytes, op)
	if err != nil {
		return adapters.Page{}, err
	}

	decls, next, more, err := DecodePage(body)
	if err != nil {
		if errors.Is(err, ErrNoData) {
			return adapters.Page{}, errs.E(errs.Invalid, op, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// Well-formed JSON of the wrong shape: the partner changed its format.
			return adapters.Page{}, errs.E(errs.Invalid, op, fmt.Errorf("page is not an NCOVI page: got a JSON %s for %s", te.Value, te.Type))
		}
		// Truncated or garbled on the way: worth another try.
		return adapters.Page{}, errs.E(errs.Transient, op, fmt.Errorf("page is not complete JSON: %w", describe(err)))
	}
	page := adapters.Page{Declarations: decls, Next: next, More: more}
	if next == "" {
		// No cursor to move to: stay where we are, and do not spin on the same page.
		page.Next, page.More = cursor, false
	}
	return page, nil
}

// describe keeps a JSON error's position but not the body's text.
func describe(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return errors.New("invalid JSON")
}
