package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The disk baseline writes pages as the embedded store's commits do: 4 KiB pages (bbolt's
// default on these machines) at random places of a file, in page order, then one fdatasync.
const (
	diskPage         = 4096
	diskPagesPerSync = 4096    // 16 MiB a commit, less than the store's (about 35,000 pages for 16,000 declarations), so a few seconds hold several
	diskFileBytes    = 1 << 30 // a new (sparse) file of 1 GiB
)

// diskResult is how fast the disk under the embedded store took durable random page writes.
type diskResult struct {
	Pages, Syncs int
	Elapsed      time.Duration
}

// BytesPerSecond is the bytes written and synced per second.
func (d diskResult) BytesPerSecond() float64 {
	if d.Elapsed <= 0 {
		return 0
	}
	return float64(d.Pages) * diskPage / d.Elapsed.Seconds()
}

// diskBaseline writes commits of random pages to a new file at path, each followed by
// fdatasync, for at least dur (and at least one commit). The caller removes the file when no
// phase is timed: a file system mounted with discard (this machine's ext4) trims every freed
// extent when it is removed, which took 11 s for 5 s of writes.
func diskBaseline(path string, dur time.Duration, seed int64) (diskResult, error) {
	var res diskResult
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return res, err
	}
	defer f.Close()
	if err := f.Truncate(diskFileBytes); err != nil {
		return res, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6469736b))
	page := make([]byte, diskPage)
	for i := range page {
		page[i] = byte(rng.Uint32())
	}
	offsets := make([]int64, diskPagesPerSync)
	start := time.Now()
	for res.Syncs == 0 || time.Since(start) < dur {
		for i := range offsets {
			offsets[i] = rng.Int64N(diskFileBytes/diskPage) * diskPage
		}
		slices.Sort(offsets)
		for _, off := range offsets {
			if _, err := f.WriteAt(page, off); err != nil {
				return res, err
			}
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return res, fmt.Errorf("fdatasync %s: %w", f.Name(), err)
		}
		res.Pages += len(offsets)
		res.Syncs++
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// procWriteBytes is how many bytes pid has caused to be written to storage so far (Linux
// counts them when the pages are dirtied: /proc/PID/io's write_bytes).
func procWriteBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/io has no write_bytes", pid)
}
