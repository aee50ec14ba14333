package redisstore

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"github.com/redis/go-redis/v9"
)

// getter coalesces concurrent GETs into pipelines (auto-pipelining): a caller queues its key
// and wakes the getter's one flusher goroutine, which lets the goroutines ready to run go
// first (runtime.Gosched: on a busy gateway, lookups on their way to the queue), sends
// everything queued as one pipeline, hands each caller its reply, and repeats until the
// queue is empty, then waits for the next caller. Under load a lookup thus costs a fraction
// of a write and a read system call on both sides instead of one each; alone, it costs one
// goroutine switch more than a GET. A caller waits for its reply or its context, whichever
// comes first. In a Cluster the pipeline is split by node by the client.
//
// One pipeline at a time: while it waits on Redis, new callers queue up and go together in
// the next. On loopback with 50 callers (BenchmarkViewParallel50, views/s and CPU per view
// of this process and of Redis) one did best: 102k/s, 7.6 and 2.5 µs; two 83k/s, 9.3 and
// 3.4 µs; four 70k/s; eight 65k/s. The flusher lives as long as the store, so its stack,
// grown by the client's calls, is not grown again for every burst of lookups.
type getter struct {
	c    redis.UniversalClient
	near *nearCache    // the views read, kept current by Redis; nil for none
	tc   *redis.Client // the near cache's tracked connection, which then carries every GET
	wake chan struct{} // a caller queued a key into an empty queue; closed by close
	done chan struct{} // closed when the flusher has ended

	mu     sync.Mutex
	queue  []*getCall
	spare  []*getCall // the previous queue's array, reused
	closed bool
}

// newGetter starts a getter's flusher; near and tc are nil, or the near cache and its tracked
// client.
func newGetter(c redis.UniversalClient, near *nearCache, tc *redis.Client) *getter {
	g := &getter{c: c, near: near, tc: tc, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go g.run()
	return g
}

// getCall is one queued GET. done receives once, when val and err are set.
type getCall struct {
	ctx   context.Context
	key   string
	cache bool // a view: answer from and fill the near cache
	val   string
	err   error
	done  chan struct{}
}

var getCalls = sync.Pool{New: func() any { return &getCall{done: make(chan struct{}, 1)} }}

// get returns the value of key, or redis.Nil when there is none; with cache, from the near
// cache when it holds key.
func (g *getter) get(ctx context.Context, key string, cache bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if cache && g.near != nil {
		if v, ok := g.near.get(key); ok {
			return v, nil
		}
	}
	c := getCalls.Get().(*getCall)
	c.ctx, c.key, c.cache = ctx, key, cache
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		c.ctx = nil
		getCalls.Put(c)
		return "", redis.ErrClosed
	}
	g.queue = append(g.queue, c)
	if len(g.queue) == 1 {
		// The flusher is waiting, or will look at the queue again before it waits.
		select {
		case g.wake <- struct{}{}:
		default: // a wake is pending already
		}
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		val, err := c.val, c.err
		*c = getCall{done: c.done}
		getCalls.Put(c)
		return val, err
	case <-ctx.Done():
		// The flusher still owns c and will fill it; it is left to the garbage collector.
		return "", ctx.Err()
	}
}

// run is the flusher: it sends the queue whenever woken, until close.
func (g *getter) run() {
	defer close(g.done)
	var f fill
	for range g.wake {
		g.flush(&f)
	}
}

// fill is the flusher's scratch space: a pipeline's commands and the near cache's share of
// its replies.
type fill struct {
	cmds       []*redis.StringCmd
	keys, vals []string
	found      []bool
}

// flush sends the queue as pipelines until it is empty.
func (g *getter) flush(f *fill) {
	for {
		// Let the goroutines that are ready to run go first: on a busy gateway they are
		// lookups on their way here, and they then share this pipeline instead of the next.
		// With nothing else to run it returns at once.
		runtime.Gosched()
		g.mu.Lock()
		batch := g.queue
		if len(batch) == 0 {
			g.mu.Unlock()
			return
		}
		g.queue, g.spare = g.spare[:0], nil
		g.mu.Unlock()

		// Callers that gave up are not asked for; the pipeline itself runs under the client's
		// own time-outs, since it serves many callers.
		live := batch[:0]
		for _, c := range batch {
			if err := c.ctx.Err(); err != nil {
				c.err = err
				c.done <- struct{}{}
				continue
			}
			live = append(live, c)
		}
		if len(live) > 0 {
			g.send(live, f)
		}
		clear(batch)
		g.mu.Lock()
		if g.spare == nil {
			g.spare = batch[:0]
		}
		g.mu.Unlock()
	}
}

// send sends one pipeline of GETs and hands each caller its reply: on the tracked connection,
// filling the near cache, when there is one.
func (g *getter) send(live []*getCall, f *fill) {
	ctx := context.Background()
	var pipe redis.Pipeliner
	var sent int64
	var gen uint64
	if g.near != nil {
		pipe = g.tc.Pipeline()
		sent, gen = g.near.begin()
	} else {
		pipe = g.c.Pipeline()
	}
	f.cmds = f.cmds[:0]
	for _, c := range live {
		f.cmds = append(f.cmds, pipe.Get(ctx, c.key))
	}
	_, _ = pipe.Exec(ctx)
	ok := true
	for i, c := range live {
		c.val, c.err = f.cmds[i].Result()
		if c.err != nil && !errors.Is(c.err, redis.Nil) {
			ok = false
		}
		if c.cache {
			f.keys = append(f.keys, c.key)
			f.vals = append(f.vals, c.val)
			f.found = append(f.found, c.err == nil)
		}
	}
	if g.near != nil {
		g.near.fill(sent, gen, ok, f.keys, f.vals, f.found)
	}
	for _, c := range live {
		c.done <- struct{}{}
	}
	clear(f.cmds)
	clear(f.keys)
	clear(f.vals)
	f.keys, f.vals, f.found = f.keys[:0], f.vals[:0], f.found[:0]
}

// close refuses new calls and waits for the flusher, which ends once the queue is empty (the
// client being closed, its pipelines fail at once).
func (g *getter) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.wake)
	}
	g.mu.Unlock()
	<-g.done
}
