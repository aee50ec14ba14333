package boltstore

import (
	"os"
	"sync/atomic"
	"time"
)

// writeback starts the disk writing a commit's pages while bbolt still writes the rest of
// them, instead of only when its fsync comes: bbolt holds its writer lock through the fsync,
// so the next transaction waits for the disk, and each page the disk has taken meanwhile is
// one the fsync no longer waits for. While a transaction runs it asks the kernel every
// writebackEvery to start writing the file's dirty pages (sync_file_range with
// SYNC_FILE_RANGE_WRITE: it waits for nothing and promises nothing; the fsyncs stay bbolt's,
// so what a commit makes durable, and in what order, does not change).
//
// BenchmarkIngestLargeStreams (4 writers of 4,000 into 500,000 identities, runs
// interleaved): bbolt's write and sync time 16.9-20.4 µs a declaration against 21.3-27.7
// without it (seven runs each way), and 13,892-16,515 declarations/s against 13,309-14,582
// (three each).
type writeback struct {
	f      *os.File // the store's file, opened again for reading: the page cache is the inode's
	active atomic.Bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

const writebackEvery = time.Millisecond

// startWriteback starts the writeback of the file at path; it returns nil where the system
// offers no sync_file_range (see writeback_other.go).
func startWriteback(path string) (*writeback, error) {
	if !canStartWriteback {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	w := &writeback{f: f, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w, nil
}

// begin marks a write transaction running; end marks it done.
func (w *writeback) begin() {
	if w == nil {
		return
	}
	w.active.Store(true)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writeback) end() {
	if w != nil {
		w.active.Store(false)
	}
}

func (w *writeback) run() {
	defer close(w.done)
	t := time.NewTimer(writebackEvery)
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		}
		for w.active.Load() {
			startWritingBack(w.f)
			t.Reset(writebackEvery)
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}
}

func (w *writeback) close() error {
	if w == nil {
		return nil
	}
	close(w.stop)
	<-w.done
	return w.f.Close()
}
