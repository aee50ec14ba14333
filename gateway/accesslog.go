package gateway

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/gateway/store"
)

// AccessRecorder writes lookup accesses to the store's access log in the background, so a
// checkpoint lookup stays one store read. History reads are logged synchronously instead
// (they must not be served if they cannot be logged).
type AccessRecorder struct {
	st   store.Auditor
	log  *slog.Logger
	ch   chan store.Access
	done chan struct{}

	mu      sync.RWMutex // held for reading while sending, for writing while closing
	closed  bool
	dropped atomic.Int64 // accesses lost because the queue was full or the recorder closed
}

// NewAccessRecorder starts a recorder with a queue of size entries.
func NewAccessRecorder(st store.Auditor, size int, log *slog.Logger) *AccessRecorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &AccessRecorder{st: st, log: log, ch: make(chan store.Access, size), done: make(chan struct{})}
	go r.run()
	return r
}

// Record queues a; it never blocks a lookup, and concurrent lookups do not wait on each other.
func (r *AccessRecorder) Record(a store.Access) {
	r.mu.RLock()
	sent := false
	if !r.closed {
		select {
		case r.ch <- a:
			sent = true
		default:
		}
	}
	r.mu.RUnlock()
	if sent {
		return
	}
	if n := r.dropped.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8... drops, not at every one
		r.log.Warn("access log queue full or closed: lookups not logged", "dropped_total", n)
	}
}

// Dropped returns how many accesses were lost to a full queue or a closed recorder.
func (r *AccessRecorder) Dropped() int64 { return r.dropped.Load() }

// linger is how long the recorder lets accesses gather after the first one before writing
// them: one commit every few milliseconds instead of one per handful of lookups (each commit
// costs the embedded store about as much as a thousand accesses). It sleeps meanwhile
// instead of waking for each access (waking was a quarter of its cost), so the queue holds
// them; accesses are in memory meanwhile, as they are while queued.
const linger = 20 * time.Millisecond

func (r *AccessRecorder) run() {
	defer close(r.done)
	// One store call (one embedded-store commit, one Redis pipeline) takes all the queue holds:
	// behind a long ingest commit (about two seconds on the embedded store) the accesses
	// queued meanwhile go in the next one together, where at most 4,096 a call let a queue of
	// 65,536 overflow at a few thousand lookups a second.
	maxBatch := cap(r.ch) + 1
	var batch []store.Access
	for a := range r.ch {
		batch = append(batch[:0], a)
		if len(r.ch) < maxBatch-1 { // a full queue is written at once
			time.Sleep(linger)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case more, ok := <-r.ch:
				if !ok {
					break drain // closing: write what there is now
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		r.write(batch)
	}
}

// write appends the batch's accesses in one store call.
func (r *AccessRecorder) write(batch []store.Access) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.st.AppendAccess(ctx, batch...); err != nil {
		r.log.Warn("accesses not logged", "count", len(batch), "err", err)
	}
}

// Close stops taking accesses and waits (until ctx ends) for the queued ones to be written.
// It is safe to call twice.
func (r *AccessRecorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.ch)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
