package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/redis/go-redis/v9/push"
)

// DefaultNearCacheMB is the near cache's default size: about 400,000 views of a few hundred
// bytes.
const DefaultNearCacheMB = 256

// nearLag bounds how stale a near-cache hit can be: a hit is served only while the last
// round trip on the tracked connection was sent less than nearLag ago, so every invalidation
// Redis sent before then has been read. Past it, a lookup goes to Redis, which renews it.
const nearLag = 10 * time.Millisecond

// nearEntryOverhead is what an entry costs beyond its key and value bytes (map slot, string
// headers), counted against the cache's size.
const nearEntryOverhead = 64

// errNoTracking is returned by the tracked connection's set-up when the server cannot send
// invalidations on it (RESP3 refused, CLIENT TRACKING unknown): the store then runs without
// a near cache.
var errNoTracking = errors.New("redis: no RESP3 client tracking")

// nearCache holds view values the lookups read, in the gateway, kept current by Redis
// (CLIENT TRACKING): the getter reads views on one connection with tracking on, and Redis
// pushes an invalidation on that connection for every key read there that anyone changes
// afterwards. The getter's client reads those pushes before each reply, in order, so once a
// round trip sent at time t has come back, every invalidation Redis sent before it processed
// that round trip has been applied. A hit is served only if the last round trip was sent less
// than nearLag ago; that is the bound on a hit's staleness, for other replicas' writes and
// for a connection that died unnoticed. The store's own writes evict their keys before they
// return, so a replica reads its own writes. A new tracked connection empties the cache (the
// old connection's invalidations are lost with it).
//
// The tracked client is used by the getter's flusher alone, one pipeline at a time, so every
// tracked read is on its one pipeline connection and every invalidation comes back there
// (Store.Ping goes through the getter for that reason). Values are cached as Redis returned
// them; each hit decodes its view, as a GET would.
type nearCache struct {
	max   int64         // bytes
	mono  func() int64  // monotonic nanoseconds; replaced in tests
	start time.Time     // mono's origin
	fresh atomic.Int64  // mono() when the last good round trip on conn gen was sent; 0 for none
	hits  atomic.Uint64 // lookups answered from the cache
	miss  atomic.Uint64 // cacheable lookups sent to Redis
	mu    sync.RWMutex  // guards the fields below
	m     map[string]string
	size  int64
	gen   uint64              // counts tracked connections; a value is only stored in the gen it was read in
	out   bool                // a round trip is out
	dirty map[string]struct{} // keys invalidated while it is out
	all   bool                // everything was invalidated while it is out
}

// newNearCache returns an empty cache of at most maxBytes.
func newNearCache(maxBytes int64) *nearCache {
	n := &nearCache{max: maxBytes, start: time.Now(), m: make(map[string]string), dirty: make(map[string]struct{})}
	n.mono = func() int64 { return int64(time.Since(n.start)) + 1 }
	return n
}

// get returns key's value if it is cached and the cache is fresh.
func (n *nearCache) get(key string) (string, bool) {
	if f := n.fresh.Load(); f == 0 || n.mono()-f >= int64(nearLag) {
		n.miss.Add(1)
		return "", false
	}
	n.mu.RLock()
	v, ok := n.m[key]
	n.mu.RUnlock()
	if ok {
		n.hits.Add(1)
	} else {
		n.miss.Add(1)
	}
	return v, ok
}

// begin starts a round trip on the tracked connection: it returns the time it is sent and
// the connection's generation, and from now on records invalidations, for fill.
func (n *nearCache) begin() (sent int64, gen uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.out, n.all = true, false
	clear(n.dirty)
	return n.mono(), n.gen
}

// fill ends the round trip begun at sent in generation gen: if it came back whole (ok) on the
// same connection, it stores the values read (keys[i] → vals[i], where found[i]) except
// those invalidated meanwhile, and marks the cache fresh as of sent.
func (n *nearCache) fill(sent int64, gen uint64, ok bool, keys, vals []string, found []bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.out = false
	if !ok || gen != n.gen {
		return
	}
	if !n.all {
		for i, k := range keys {
			if _, gone := n.dirty[k]; found[i] && !gone {
				n.put(k, vals[i])
			}
		}
	}
	if sent > n.fresh.Load() {
		n.fresh.Store(sent)
	}
}

// put stores k → v, making room by dropping other entries (in the map's random order). The
// caller holds mu.
func (n *nearCache) put(k, v string) {
	cost := int64(len(k) + len(v) + nearEntryOverhead)
	if cost > n.max {
		return
	}
	if old, ok := n.m[k]; ok {
		n.size -= int64(len(k) + len(old) + nearEntryOverhead)
	}
	for n.size+cost > n.max && len(n.m) > 0 {
		for dk, dv := range n.m {
			delete(n.m, dk)
			n.size -= int64(len(dk) + len(dv) + nearEntryOverhead)
			break
		}
	}
	n.m[k] = v
	n.size += cost
}

// forget drops keys: Redis said they changed, or this store wrote them.
func (n *nearCache) forget(keys ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range keys {
		if v, ok := n.m[k]; ok {
			delete(n.m, k)
			n.size -= int64(len(k) + len(v) + nearEntryOverhead)
		}
		if n.out {
			n.dirty[k] = struct{}{}
		}
	}
}

// forgetAll empties the cache (Redis flushed its tracking, or a database).
func (n *nearCache) forgetAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.m)
	n.size = 0
	n.all = true
}

// reconnected empties the cache for a new tracked connection (and when the store closes):
// the old one's invalidations are lost, so nothing read on it can be trusted, nor the
// freshness it gave.
func (n *nearCache) reconnected() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.m)
	n.size = 0
	n.gen++
	n.all = true
	n.fresh.Store(0)
}

// NearCacheStats says whether the store has a near cache and counts the lookups' view reads
// since Open: answered from it, and sent to Redis (both zero without one).
type NearCacheStats struct {
	On           bool
	Hits, Misses uint64
}

// NearCacheStats returns the near cache's counts.
func (s *Store) NearCacheStats() NearCacheStats {
	if s.near == nil {
		return NearCacheStats{}
	}
	return NearCacheStats{On: true, Hits: s.near.hits.Load(), Misses: s.near.miss.Load()}
}

// invalidations applies Redis's "invalidate" pushes to the near cache.
type invalidations struct{ n *nearCache }

// HandlePushNotification applies one push: ["invalidate", [key...]] drops the keys,
// ["invalidate", nil] everything.
func (h invalidations) HandlePushNotification(_ context.Context, _ push.NotificationHandlerContext, msg []any) error {
	if len(msg) < 2 {
		return nil
	}
	keys, ok := msg[1].([]any)
	if !ok {
		h.n.forgetAll()
		return nil
	}
	for _, k := range keys {
		if s, ok := k.(string); ok {
			h.n.forget(s)
		}
	}
	return nil
}

// trackedClient returns a one-connection client to the server of o, speaking RESP3 with
// CLIENT TRACKING on, whose invalidations go to n.
func trackedClient(o *redis.Options, n *nearCache) (*redis.Client, error) {
	o.Protocol = 3
	o.PoolSize, o.PipelinePoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 1, 0, 1
	o.ClientName = "lienthong-near-cache"
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		info, err := cn.Do(ctx, "CLIENT", "INFO").Text()
		if err != nil {
			return err
		}
		if !strings.Contains(info, " resp=3") {
			return errNoTracking
		}
		if err := cn.Do(ctx, "CLIENT", "TRACKING", "ON").Err(); err != nil {
			return errNoTracking
		}
		n.reconnected()
		return nil
	}
	tc := redis.NewClient(o)
	if err := tc.RegisterPushNotificationHandler("invalidate", invalidations{n}, true); err != nil {
		_ = tc.Close()
		return nil, err
	}
	return tc, nil
}

// openNearCache sets up the near cache of a standalone server (not a Cluster, not Sentinel)
// unless opts turn it off; a server that cannot track (before Redis 6.2, or refusing
// RESP3) leaves the store without one.
func (s *Store) openNearCache(ctx context.Context, opts Options) error {
	mb := opts.NearCacheMB
	if mb == 0 {
		mb = DefaultNearCacheMB
	}
	if _, standalone := s.c.(*redis.Client); mb < 0 || !standalone || opts.MasterName != "" {
		return nil
	}
	n := newNearCache(int64(mb) << 20)
	tc, err := trackedClient(opts.universal().Simple(), n)
	if err != nil {
		return err
	}
	// Through a pipeline, as the getter will: pipelines have a connection pool of their own.
	if _, err := tc.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Ping(ctx).Err() }); err != nil {
		_ = tc.Close()
		if errors.Is(err, errNoTracking) || strings.Contains(err.Error(), errNoTracking.Error()) {
			return nil
		}
		return err
	}
	s.near, s.tc = n, tc
	return nil
}
