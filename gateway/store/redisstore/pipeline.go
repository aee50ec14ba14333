package redisstore

import (
	"context"
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
	wake chan struct{} // a caller queued a key into an empty queue; closed by close
	done chan struct{} // closed when the flusher has ended

	mu     sync.Mutex
	queue  []*getCall
	spare  []*getCall // the previous queue's array, reused
	closed bool
}

// newGetter starts a getter's flusher.
func newGetter(c redis.UniversalClient) *getter {
	g := &getter{c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go g.run()
	return g
}

// getCall is one queued GET. done receives once, when val and err are set.
type getCall struct {
	ctx  context.Context
	key  string
	val  string
	err  error
	done chan struct{}
}

var getCalls = sync.Pool{New: func() any { return &getCall{done: make(chan struct{}, 1)} }}

// get returns the value of key, or redis.Nil when there is none.
func (g *getter) get(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c := getCalls.Get().(*getCall)
	c.ctx, c.key = ctx, key
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
	var cmds []*redis.StringCmd
	for range g.wake {
		cmds = g.flush(cmds)
	}
}

// flush sends the queue as pipelines until it is empty; cmds is scratch space, returned for
// the next call.
func (g *getter) flush(cmds []*redis.StringCmd) []*redis.StringCmd {
	for {
		// Let the goroutines that are ready to run go first: on a busy gateway they are
		// lookups on their way here, and they then share this pipeline instead of the next.
		// With nothing else to run it returns at once.
		runtime.Gosched()
		g.mu.Lock()
		batch := g.queue
		if len(batch) == 0 {
			g.mu.Unlock()
			return cmds
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
			ctx := context.Background()
			pipe := g.c.Pipeline()
			cmds = cmds[:0]
			for _, c := range live {
				cmds = append(cmds, pipe.Get(ctx, c.key))
			}
			_, _ = pipe.Exec(ctx)
			for i, c := range live {
				c.val, c.err = cmds[i].Result()
				c.done <- struct{}{}
			}
			clear(cmds)
		}
		clear(batch)
		g.mu.Lock()
		if g.spare == nil {
			g.spare = batch[:0]
		}
		g.mu.Unlock()
	}
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
