package boltstore

import (
	"os"

	"golang.org/x/sys/unix"
)

const canStartWriteback = true

// startWritingBack asks the kernel to start writing f's dirty pages to the disk; it waits for
// none of them, and an error only means they are written later, by the fsync.
func startWritingBack(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
