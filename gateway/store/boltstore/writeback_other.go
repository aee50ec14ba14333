//go:build !linux

package boltstore

import "os"

// Only Linux has sync_file_range: elsewhere bbolt's fsync writes a commit's pages alone.
const canStartWriteback = false

func startWritingBack(*os.File) {}
