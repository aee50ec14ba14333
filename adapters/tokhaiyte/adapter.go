package tokhaiyte

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/internal/partnerhttp"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// ExportPath is the export's path under the base URL.
const ExportPath = "/export/khai-bao.csv"

// maxExportBytes bounds one window's export.
const maxExportBytes = 256 << 20

// catchUpMargin: a window ending closer than this to now means we have caught up, and the
// runner waits for its next poll instead of fetching again at once.
const catchUpMargin = time.Minute

// Source reads tokhaiyte's CSV export window by window. The cursor is the high-water mark:
// the end of the last window read, in RFC 3339 UTC. It keeps no state of its own.
type Source struct {
	cfg    Config
	client *http.Client
	export string
}

var _ adapters.Source = (*Source)(nil)

// New returns the tokhaiyte source. client nil means a new client with no overall time-out
// (each Fetch has its own, Config.Timeout).
func New(cfg Config, client *http.Client) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Source{cfg: cfg.withDefaults(), client: client, export: strings.TrimRight(cfg.BaseURL, "/") + ExportPath}, nil
}

// Name returns canonical.PlatformTokhaiyte.
func (s *Source) Name() canonical.Platform { return canonical.PlatformTokhaiyte }

// Window returns the half-open window [from, to) the next Fetch with cursor asks for:
// from = high-water mark − Overlap (Start, when cursor is empty), to = min(from + Window, now),
// in whole seconds. An empty window (from ≥ to) means there is nothing to ask yet.
func (s *Source) Window(cursor string) (from, to time.Time, err error) {
	now := s.cfg.Now().UTC().Truncate(time.Second)
	if cursor == "" {
		from = s.cfg.Start
		if from.IsZero() {
			from = now.Add(-DefaultBack)
		}
		from = from.UTC().Truncate(time.Second)
	} else {
		hwm, perr := time.Parse(time.RFC3339Nano, cursor)
		if perr != nil {
			return time.Time{}, time.Time{}, errs.E(errs.Invalid, "tokhaiyte.Window", fmt.Errorf("cursor %q is not an RFC 3339 time", cursor))
		}
		from = hwm.UTC().Add(-s.cfg.Overlap).Truncate(time.Second)
	}
	to = from.Add(s.cfg.Window)
	if to.After(now) {
		to = now
	}
	return from, to, nil
}

// Fetch reads the window after cursor (see Window). Page.Next is the window's end, the new
// high-water mark; Page.More says the window ended well before now (we are catching up).
// Rows seen again through the overlap come back again: the store deduplicates them. A
// malformed row comes back alone with its line number in a Problem. Errors: 401/403
// errs.Permission; 429 errs.Transient with adapters.RetryAfter; 5xx, time-outs and dropped
// connections errs.Transient; a file that is not the export (wrong header) errs.Invalid.
func (s *Source) Fetch(ctx context.Context, cursor string) (adapters.Page, error) {
	const op = "tokhaiyte.Fetch"
	from, to, err := s.Window(cursor)
	if err != nil {
		return adapters.Page{}, err
	}
	if !from.Before(to) {
		return adapters.Page{Next: cursor}, nil // the clock has not moved past the mark yet
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	q := url.Values{}
	q.Set("tu", from.Format(time.RFC3339))
	q.Set("den", to.Format(time.RFC3339))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.export+"?"+q.Encode(), nil)
	if err != nil {
		return adapters.Page{}, errs.E(errs.Invalid, op, err)
	}
	req.Header.Set("X-Api-Key", s.cfg.APIKey)
	req.Header.Set("Accept", "text/csv")

	resp, err := partnerhttp.Do(s.client, req, op, s.cfg.Now)
	if err != nil {
		return adapters.Page{}, err
	}
	defer resp.Body.Close()
	body, err := partnerhttp.ReadBody(ctx, resp.Body, maxExportBytes, op)
	if err != nil {
		return adapters.Page{}, err
	}
	if len(body) == 0 {
		// Even an empty window's export has its header row: an empty body is a failed export,
		// and moving the mark past it would skip the window's rows for good.
		return adapters.Page{}, errs.E(errs.Transient, op, errors.New("empty export, not even the header row"))
	}
	decls, err := DecodeCSV(bytes.NewReader(body))
	if err != nil {
		if errors.Is(err, ErrHeader) {
			return adapters.Page{}, errs.E(errs.Invalid, op, err)
		}
		return adapters.Page{}, errs.E(errs.Transient, op, err)
	}
	return adapters.Page{
		Declarations: decls,
		Next:         to.Format(time.RFC3339),
		More:         to.Before(s.cfg.Now().Add(-catchUpMargin)),
	}, nil
}
