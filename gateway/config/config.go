// Package config is the gateway's configuration: defaults, a JSON file, LIENTHONG_* environment
// variables and flags, in that order of precedence (flags win), validated in one place.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/auth"
)

// Duration is a time.Duration written as text ("72h", "5m") in the file.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "72h"-style text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be text like \"72h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Config is every setting of `lienthong serve`.
type Config struct {
	GRPCAddr      string   `json:"grpc_addr"`      // gRPC listen address
	HTTPAddr      string   `json:"http_addr"`      // HTTP listen address (webhooks, metrics, health, keys)
	DataDir       string   `json:"data_dir"`       // embedded store, signing keys, identity secret
	Redis         string   `json:"redis"`          // "" for the embedded store; a redis:// URL or host:port list
	QRValidity    Duration `json:"qr_validity"`    // how long a signed QR and a declaration stay valid
	RetentionDays int      `json:"retention_days"` // declarations older than this are purged; 0 keeps all
	ReplicaID     string   `json:"replica_id"`     // this replica's name in pull leases
	LogFormat     string   `json:"log_format"`     // text or json
	LogLevel      string   `json:"log_level"`      // debug, info, warn, error
	DebugAddr     string   `json:"debug_addr"`     // Go profiler (/debug/pprof) listen address; "" is off
	ViewCache     bool     `json:"view_cache"`     // embedded store: keep every identity's view in memory for lookups

	TLS         TLS                 `json:"tls"`
	Credentials []auth.Credential   `json:"credentials"` // principals by token hash or certificate name
	Limits      map[auth.Role]Limit `json:"limits"`      // per-principal rate limits by role

	Bluezone  Bluezone  `json:"bluezone"`
	NCOVI     NCOVI     `json:"ncovi"`
	Tokhaiyte Tokhaiyte `json:"tokhaiyte"`
	Registry  Registry  `json:"registry"`
}

// TLS turns on TLS for gRPC, and mTLS when ClientCA is set.
type TLS struct {
	Cert     string `json:"cert"`      // server certificate (PEM file)
	Key      string `json:"key"`       // server key (PEM file)
	ClientCA string `json:"client_ca"` // CA of client certificates; clients must present one
}

// Limit is a token bucket per principal.
type Limit struct {
	Rate  float64 `json:"rate"`  // calls per second
	Burst int     `json:"burst"` // calls at once
}

// Bluezone configures the webhook Bluezone pushes to.
type Bluezone struct {
	Enabled bool   `json:"enabled"`
	Secret  string `json:"secret"` // the shared HMAC secret
}

// NCOVI configures the cursor pull from NCOVI.
type NCOVI struct {
	Enabled  bool     `json:"enabled"`
	BaseURL  string   `json:"base_url"`
	Token    string   `json:"token"`
	PageSize int      `json:"page_size"`
	Interval Duration `json:"interval"` // wait between polls when caught up
	Timeout  Duration `json:"timeout"`  // for one page, request to last byte
}

// Tokhaiyte configures the CSV pull from tokhaiyte by time window.
type Tokhaiyte struct {
	Enabled  bool     `json:"enabled"`
	BaseURL  string   `json:"base_url"`
	APIKey   string   `json:"api_key"`
	Window   Duration `json:"window"`
	Overlap  Duration `json:"overlap"`
	Since    Duration `json:"since"` // how far back to start when no cursor is stored
	Interval Duration `json:"interval"`
	Timeout  Duration `json:"timeout"` // for one window's export, request to last byte
}

// Registry configures the optional population-register check.
type Registry struct {
	Enabled       bool     `json:"enabled"`
	BaseURL       string   `json:"base_url"`
	CacheTTL      Duration `json:"cache_ttl"`
	OnUnavailable string   `json:"on_unavailable"` // "flag" (accept, unverified) or "reject"
}

// Default returns the configuration a fresh machine runs with.
func Default() Config {
	host, _ := os.Hostname()
	return Config{
		GRPCAddr:      "127.0.0.1:7400",
		HTTPAddr:      "127.0.0.1:7401",
		DataDir:       "data",
		QRValidity:    Duration{72 * time.Hour},
		RetentionDays: 30,
		ReplicaID:     fmt.Sprintf("%s-%d", host, os.Getpid()),
		LogFormat:     "text",
		LogLevel:      "info",
		ViewCache:     true,
		Limits: map[auth.Role]Limit{
			auth.RolePartner:    {Rate: 200, Burst: 400},
			auth.RoleCheckpoint: {Rate: 500, Burst: 1000},
			auth.RoleMinistry:   {Rate: 50, Burst: 100},
		},
		NCOVI:     NCOVI{PageSize: 500, Interval: Duration{5 * time.Second}, Timeout: Duration{ncovi.DefaultTimeout}},
		Tokhaiyte: Tokhaiyte{Window: Duration{time.Hour}, Overlap: Duration{5 * time.Minute}, Since: Duration{7 * 24 * time.Hour}, Interval: Duration{30 * time.Second}, Timeout: Duration{tokhaiyte.DefaultTimeout}},
		Registry:  Registry{CacheTTL: Duration{10 * time.Minute}, OnUnavailable: "flag"},
	}
}

// LoadFile reads a JSON configuration file over c. Unknown keys are errors, so a misspelt
// setting is never silently ignored.
func (c *Config) LoadFile(path string) error {
	const op = "config.LoadFile"
	f, err := os.Open(path)
	if err != nil {
		return errs.E(errs.Invalid, op, err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return errs.Errorf(errs.Invalid, op, "%s: %w", path, err)
	}
	return nil
}

// Setting is one setting reachable by flag and environment variable.
type Setting struct {
	Flag  string // flag name, e.g. "grpc-addr"
	Env   string // LIENTHONG_GRPC_ADDR
	Usage string
	Bool  bool // a switch: --flag alone means true
	set   func(string) error
	get   func() string
}

// Settings lists the settings of c that flags and environment variables can set.
func (c *Config) Settings() []Setting {
	str := func(flagName, usage string, p *string) Setting {
		return Setting{Flag: flagName, Usage: usage, set: func(s string) error { *p = s; return nil }, get: func() string { return *p }}
	}
	dur := func(flagName, usage string, p *Duration) Setting {
		return Setting{Flag: flagName, Usage: usage,
			set: func(s string) error {
				d, err := time.ParseDuration(s)
				if err != nil {
					return err
				}
				p.Duration = d
				return nil
			},
			get: func() string { return p.String() }}
	}
	boolean := func(flagName, usage string, p *bool) Setting {
		return Setting{Flag: flagName, Usage: usage, Bool: true,
			set: func(s string) error {
				b, err := strconv.ParseBool(s)
				if err != nil {
					return err
				}
				*p = b
				return nil
			},
			get: func() string { return strconv.FormatBool(*p) }}
	}
	integer := func(flagName, usage string, p *int) Setting {
		return Setting{Flag: flagName, Usage: usage,
			set: func(s string) error {
				n, err := strconv.Atoi(s)
				if err != nil {
					return err
				}
				*p = n
				return nil
			},
			get: func() string { return strconv.Itoa(*p) }}
	}
	ss := []Setting{
		str("grpc-addr", "gRPC listen address (all services)", &c.GRPCAddr),
		str("http-addr", "HTTP listen address (webhooks, /metrics, /healthz, /readyz, /keys)", &c.HTTPAddr),
		str("data-dir", "folder of the embedded store, the signing keys and the identity secret", &c.DataDir),
		str("redis", "use Redis instead of the embedded store: a redis:// URL, or host:port[,host:port...] (several = Cluster)", &c.Redis),
		dur("qr-validity", "validity of a signed QR and of a declaration at checkpoints", &c.QRValidity),
		integer("retention-days", "purge declarations older than this many days (0 keeps everything)", &c.RetentionDays),
		str("replica-id", "this replica's name in pull-adapter leases", &c.ReplicaID),
		str("log-format", "log format: text or json", &c.LogFormat),
		str("log-level", "log level: debug, info, warn or error", &c.LogLevel),
		str("debug-addr", "listen address of the Go profiler at /debug/pprof/ (keep it on loopback); empty turns it off", &c.DebugAddr),
		boolean("view-cache", "embedded store: keep every identity's view and every alias in memory (about 1 KiB of RSS each) so lookups and the writer need not read the file", &c.ViewCache),
		str("tls-cert", "server certificate (PEM) for gRPC TLS", &c.TLS.Cert),
		str("tls-key", "server key (PEM) for gRPC TLS", &c.TLS.Key),
		str("tls-client-ca", "CA (PEM) of client certificates: turns on mTLS", &c.TLS.ClientCA),
		boolean("bluezone", "accept Bluezone webhook pushes", &c.Bluezone.Enabled),
		str("bluezone-secret", "Bluezone webhook HMAC secret", &c.Bluezone.Secret),
		boolean("ncovi", "pull from NCOVI", &c.NCOVI.Enabled),
		str("ncovi-url", "NCOVI base URL", &c.NCOVI.BaseURL),
		str("ncovi-token", "NCOVI bearer token", &c.NCOVI.Token),
		dur("ncovi-interval", "NCOVI poll interval when caught up", &c.NCOVI.Interval),
		dur("ncovi-timeout", "how long one NCOVI page may take, request to last byte", &c.NCOVI.Timeout),
		boolean("tokhaiyte", "pull from tokhaiyte", &c.Tokhaiyte.Enabled),
		str("tokhaiyte-url", "tokhaiyte base URL", &c.Tokhaiyte.BaseURL),
		str("tokhaiyte-key", "tokhaiyte API key", &c.Tokhaiyte.APIKey),
		dur("tokhaiyte-interval", "tokhaiyte poll interval when caught up", &c.Tokhaiyte.Interval),
		dur("tokhaiyte-since", "how far back tokhaiyte pulls start when no cursor is stored", &c.Tokhaiyte.Since),
		dur("tokhaiyte-timeout", "how long one tokhaiyte window's export may take, request to last byte", &c.Tokhaiyte.Timeout),
		boolean("registry", "check CCCDs against the population register", &c.Registry.Enabled),
		str("registry-url", "population register base URL", &c.Registry.BaseURL),
		str("registry-on-unavailable", "when the register is down: flag (accept, unverified) or reject", &c.Registry.OnUnavailable),
	}
	for i := range ss {
		ss[i].Env = "LIENTHONG_" + strings.ToUpper(strings.ReplaceAll(ss[i].Flag, "-", "_"))
	}
	return ss
}

// ApplyEnv sets every setting whose environment variable is set.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	for _, s := range c.Settings() {
		if v, ok := lookup(s.Env); ok {
			if err := s.set(v); err != nil {
				return errs.Errorf(errs.Invalid, "config.ApplyEnv", "%s=%q: %w", s.Env, v, err)
			}
		}
	}
	return nil
}

// Flags registers the settings on fs. Call after the file and the environment are applied,
// so the defaults shown are the effective values and parsed flags win.
func (c *Config) Flags(fs *flag.FlagSet) {
	for _, s := range c.Settings() {
		usage := fmt.Sprintf("%s (env %s, default %q)", s.Usage, s.Env, s.get())
		if s.Bool {
			fs.BoolFunc(s.Flag, usage, s.set)
		} else {
			fs.Func(s.Flag, usage, s.set)
		}
	}
}

// Validate checks the configuration and names every problem.
func (c *Config) Validate() error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.GRPCAddr == "" {
		add("grpc_addr is required")
	}
	if c.HTTPAddr == "" {
		add("http_addr is required")
	}
	if c.DataDir == "" {
		add("data_dir is required")
	}
	if c.QRValidity.Duration <= 0 {
		add("qr_validity must be positive")
	}
	if c.RetentionDays < 0 {
		add("retention_days must be 0 or more")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		add("log_format must be text or json, not %q", c.LogFormat)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls.cert and tls.key go together")
	}
	if c.TLS.ClientCA != "" && c.TLS.Cert == "" {
		add("tls.client_ca needs tls.cert and tls.key")
	}
	if c.Bluezone.Enabled && len(c.Bluezone.Secret) < 16 {
		add("bluezone.secret must be at least 16 characters when bluezone is enabled")
	}
	if c.NCOVI.Enabled && (c.NCOVI.BaseURL == "" || c.NCOVI.Token == "") {
		add("ncovi.base_url and ncovi.token are required when ncovi is enabled")
	}
	if c.NCOVI.Timeout.Duration <= 0 {
		add("ncovi.timeout must be positive, not %s", c.NCOVI.Timeout)
	}
	if c.Tokhaiyte.Timeout.Duration <= 0 {
		add("tokhaiyte.timeout must be positive, not %s", c.Tokhaiyte.Timeout)
	}
	if c.Tokhaiyte.Enabled && (c.Tokhaiyte.BaseURL == "" || c.Tokhaiyte.APIKey == "") {
		add("tokhaiyte.base_url and tokhaiyte.api_key are required when tokhaiyte is enabled")
	}
	if c.Registry.Enabled && c.Registry.BaseURL == "" {
		add("registry.base_url is required when registry is enabled")
	}
	if c.Registry.OnUnavailable != "flag" && c.Registry.OnUnavailable != "reject" {
		add("registry.on_unavailable must be flag or reject, not %q", c.Registry.OnUnavailable)
	}
	if _, err := auth.NewAuthenticator(c.Credentials); err != nil {
		add("credentials: %v", err)
	}
	if len(problems) > 0 {
		return errs.E(errs.Invalid, "config", errors.Join(problems...))
	}
	return nil
}
