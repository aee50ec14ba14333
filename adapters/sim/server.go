package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// ServerConfig configures the simulated partners.
type ServerConfig struct {
	NCOVIAddr     string // listen address; default 127.0.0.1:0
	TokhaiyteAddr string
	RegistryAddr  string

	NCOVIToken   string // the bearer token NCOVI's feed wants
	TokhaiyteKey string // the X-Api-Key tokhaiyte's export wants

	NCOVI     Faults
	Tokhaiyte Faults
	Registry  Faults
	Bluezone  Faults // for the pusher: Latency before each push, Down pauses it; the rest is unused

	// BluezoneRate is how many declarations per second the pusher sends (0: as fast as the
	// gateway answers). BluezoneAttempts is how many times one batch is tried before the push
	// gives up (default 10).
	BluezoneRate     float64
	BluezoneAttempts int
	BluezoneWorkers  int          // batches in flight at once (default 1)
	BluezoneClient   *http.Client // default: a client with a 30 s time-out

	Seed   int64                                            // seeds the fault draws (default: the population's seed)
	Now    func() time.Time                                 // the clock for down windows and signatures; default time.Now
	Sleep  func(ctx context.Context, d time.Duration) error // waits (latency, back-off, pacing); default a timer
	Logger *slog.Logger                                     // default: discards
}

// Servers are the running simulated partners.
type Servers struct {
	pop  *Population
	cfg  ServerConfig
	done chan struct{}

	ncovi, tokhaiyte, registry *faulty
	servers                    []*http.Server
	urls                       [3]string
	wg                         sync.WaitGroup
	once                       sync.Once
	shutdownErr                error
}

// NCOVIURL is the base URL of the NCOVI feed ("http://127.0.0.1:port").
func (s *Servers) NCOVIURL() string { return s.urls[0] }

// TokhaiyteURL is the base URL of the tokhaiyte export.
func (s *Servers) TokhaiyteURL() string { return s.urls[1] }

// RegistryURL is the base URL of the population register.
func (s *Servers) RegistryURL() string { return s.urls[2] }

// Stats returns what each partner answered so far, by platform name ("ncovi", "tokhaiyte",
// "registry").
func (s *Servers) Stats() map[string]PartnerStats {
	return map[string]PartnerStats{"ncovi": s.ncovi.Stats(), "tokhaiyte": s.tokhaiyte.Stats(), "registry": s.registry.Stats()}
}

// Start listens on the three partners' addresses and serves them; it does not block.
func Start(ctx context.Context, pop *Population, cfg ServerConfig) (*Servers, error) {
	const op = "sim.Start"
	if pop == nil {
		return nil, errs.E(errs.Invalid, op, errors.New("no population"))
	}
	if cfg.NCOVIToken == "" || cfg.TokhaiyteKey == "" {
		return nil, errs.E(errs.Invalid, op, errors.New("NCOVIToken and TokhaiyteKey must be set"))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Seed == 0 {
		cfg.Seed = pop.Config.Seed
	}
	if cfg.BluezoneAttempts <= 0 {
		cfg.BluezoneAttempts = 10
	}
	if cfg.BluezoneClient == nil {
		cfg.BluezoneClient = &http.Client{Timeout: 30 * time.Second}
	}
	s := &Servers{pop: pop, cfg: cfg, done: make(chan struct{})}
	s.ncovi = newFaulty("ncovi", cfg.Seed, cfg.NCOVI, &ncoviHandler{pop: pop, token: cfg.NCOVIToken}, cfg.Now, cfg.Sleep, s.done)
	s.tokhaiyte = newFaulty("tokhaiyte", cfg.Seed, cfg.Tokhaiyte, &tokhaiyteHandler{pop: pop, key: cfg.TokhaiyteKey}, cfg.Now, cfg.Sleep, s.done)
	s.registry = newFaulty("registry", cfg.Seed, cfg.Registry, &registryHandler{pop: pop}, cfg.Now, cfg.Sleep, s.done)
	handlers := []struct {
		addr string
		h    http.Handler
	}{{cfg.NCOVIAddr, s.ncovi}, {cfg.TokhaiyteAddr, s.tokhaiyte}, {cfg.RegistryAddr, s.registry}}
	var lc net.ListenConfig
	for i, h := range handlers {
		addr := h.addr
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			_ = s.Shutdown(context.Background())
			return nil, errs.E(errs.Invalid, op, fmt.Errorf("listen %s: %w", addr, err))
		}
		srv := &http.Server{Handler: h.h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
		s.servers = append(s.servers, srv)
		s.urls[i] = "http://" + ln.Addr().String()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				cfg.Logger.Error("partner server stopped", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	return s, nil
}

// Shutdown stops the servers, releasing hung requests, and waits for them. It is safe to call
// twice.
func (s *Servers) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		close(s.done)
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil && s.shutdownErr == nil {
				s.shutdownErr = err
			}
		}
		s.wg.Wait()
	})
	return s.shutdownErr
}
