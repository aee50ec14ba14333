package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/canonical/errs"
)

// Options configures a Store.
type Options struct {
	// URL is a --redis target (see ParseTarget); when set, Open parses it and it fills the
	// fields it names (Addrs, Cluster, MasterName, credentials, pool, time-outs).
	URL string
	// Addrs are host:port addresses: one for a single server, several (or Cluster set) for a
	// Redis Cluster's seed nodes, Sentinel addresses when MasterName is set.
	Addrs []string
	// Cluster forces a cluster client even with one seed address.
	Cluster bool
	// MasterName selects Sentinel: the name of the monitored master.
	MasterName string
	Username   string
	Password   string
	DB         int

	PoolSize     int           // connections per node; 0 for go-redis' default (10 per CPU)
	DialTimeout  time.Duration // 0 for 2s
	ReadTimeout  time.Duration // 0 for 2s
	WriteTimeout time.Duration // 0 for 2s
	MaxRetries   int           // go-redis command retries; 0 for 2, -1 for none

	// Namespace prefixes every key ("lt" when empty), so several deployments or tests can
	// share one Redis.
	Namespace string
	// CASRetries bounds how often one identity's write is re-read and retried after losing
	// a compare-and-set race; 0 for 64.
	CASRetries int
	// Now is the clock of leases; nil for time.Now.
	Now func() time.Time
}

// ParseTarget parses the --redis flag: a redis:// URL, or comma-separated host:port
// addresses (several addresses are a cluster's seed nodes). URL query parameters:
// cluster=true, master=<sentinel master name>, namespace=<key prefix>, pool=<n>, dial_timeout, read_timeout,
// write_timeout (Go durations), max_retries=<n>. Several hosts in a URL are written
// "redis://h1:p1,h2:p2/".
func ParseTarget(s string) (Options, error) {
	const op = "redisstore.ParseTarget"
	s = strings.TrimSpace(s)
	if s == "" {
		return Options{}, errs.Errorf(errs.Invalid, op, "redis target: empty")
	}
	if !strings.Contains(s, "://") {
		o := Options{}
		for _, a := range strings.Split(s, ",") {
			a = strings.TrimSpace(a)
			if err := checkAddr(a); err != nil {
				return Options{}, errs.Errorf(errs.Invalid, op, "redis target: address %q: %w", a, err)
			}
			o.Addrs = append(o.Addrs, a)
		}
		return o, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Options{}, errs.Errorf(errs.Invalid, op, "redis target: %w", err)
	}
	if u.Scheme != "redis" {
		return Options{}, errs.Errorf(errs.Invalid, op, "redis target: scheme %q: want redis://", u.Scheme)
	}
	o := Options{}
	for _, a := range strings.Split(u.Host, ",") {
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, "6379")
		}
		if err := checkAddr(a); err != nil {
			return Options{}, errs.Errorf(errs.Invalid, op, "redis target: address %q: %w", a, err)
		}
		o.Addrs = append(o.Addrs, a)
	}
	if len(o.Addrs) == 0 {
		return Options{}, errs.Errorf(errs.Invalid, op, "redis target: no host")
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if o.DB, err = strconv.Atoi(db); err != nil || o.DB < 0 {
			return Options{}, errs.Errorf(errs.Invalid, op, "redis target: database %q: not a number", db)
		}
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		var perr error
		switch k {
		case "cluster":
			o.Cluster, perr = strconv.ParseBool(v)
		case "namespace":
			o.Namespace = v
		case "master":
			o.MasterName = v
		case "pool":
			o.PoolSize, perr = strconv.Atoi(v)
		case "max_retries":
			o.MaxRetries, perr = strconv.Atoi(v)
		case "dial_timeout":
			o.DialTimeout, perr = time.ParseDuration(v)
		case "read_timeout":
			o.ReadTimeout, perr = time.ParseDuration(v)
		case "write_timeout":
			o.WriteTimeout, perr = time.ParseDuration(v)
		default:
			perr = errors.New("unknown parameter")
		}
		if perr != nil {
			return Options{}, errs.Errorf(errs.Invalid, op, "redis target: parameter %q: %w", k, perr)
		}
	}
	if o.DB != 0 && (o.Cluster || len(o.Addrs) > 1) && o.MasterName == "" {
		return Options{}, errs.Errorf(errs.Invalid, op, "redis target: database %d: a cluster has only database 0", o.DB)
	}
	return o, nil
}

func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("no host")
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return errors.New("bad port")
	}
	return nil
}

func (o Options) universal() *redis.UniversalOptions {
	dur := func(d time.Duration) time.Duration {
		if d == 0 {
			return 2 * time.Second
		}
		return d
	}
	retries := o.MaxRetries
	if retries == 0 {
		retries = 2
	}
	return &redis.UniversalOptions{
		Addrs:         o.Addrs,
		IsClusterMode: o.Cluster,
		MasterName:    o.MasterName,
		Username:      o.Username,
		Password:      o.Password,
		DB:            o.DB,
		PoolSize:      o.PoolSize,
		DialTimeout:   dur(o.DialTimeout),
		ReadTimeout:   dur(o.ReadTimeout),
		WriteTimeout:  dur(o.WriteTimeout),
		MaxRetries:    retries,
		// RESP2: the store uses no RESP3 feature (push notifications, client-side caching),
		// and with RESP3 the client checks for push notifications before every reply.
		Protocol: 2,
		// A refused connection is an outage: report it at once (errs.Transient) and let the
		// caller's back-off and breaker decide, instead of redialling inside one call.
		DialerRetries: 1,
	}
}

// classify gives a Redis error its kind: unreachable, timing out, loading, failing over or
// a cluster without all its slots is Transient; anything else is internal.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errs.KindOf(err) != errs.Other {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return errs.E(errs.Transient, op, err)
	}
	if transient(err) {
		return errs.E(errs.Transient, op, err)
	}
	return errs.E(errs.Other, op, err)
}

func transient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, redis.ErrClosed) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	msg := err.Error()
	// Redis error replies whose code says "not now": a cluster without all its slots, a
	// server loading its data, a failover, a slot on the move, a busy script.
	for _, code := range []string{"CLUSTERDOWN", "LOADING", "TRYAGAIN", "MASTERDOWN", "READONLY", "BUSY", "MOVED", "ASK", "NOREPLICAS"} {
		if strings.HasPrefix(msg, code+" ") || msg == code {
			return true
		}
	}
	for _, p := range []string{"connection refused", "connection reset", "broken pipe", "i/o timeout", "pool timeout", "no such host"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func (o Options) String() string {
	return fmt.Sprintf("redis %v cluster=%v master=%q", o.Addrs, o.Cluster, o.MasterName)
}

// merge fills o's fields from the parsed target t, which wins where it says something.
func (o Options) merge(t Options) Options {
	o.Addrs = t.Addrs
	o.Cluster = o.Cluster || t.Cluster
	if t.MasterName != "" {
		o.MasterName = t.MasterName
	}
	if t.Username != "" || t.Password != "" {
		o.Username, o.Password = t.Username, t.Password
	}
	if t.DB != 0 {
		o.DB = t.DB
	}
	if t.Namespace != "" {
		o.Namespace = t.Namespace
	}
	if t.PoolSize != 0 {
		o.PoolSize = t.PoolSize
	}
	if t.DialTimeout != 0 {
		o.DialTimeout = t.DialTimeout
	}
	if t.ReadTimeout != 0 {
		o.ReadTimeout = t.ReadTimeout
	}
	if t.WriteTimeout != 0 {
		o.WriteTimeout = t.WriteTimeout
	}
	if t.MaxRetries != 0 {
		o.MaxRetries = t.MaxRetries
	}
	return o
}
