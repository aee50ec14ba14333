package e2e

import (
	"os"
	"testing"

	"github.com/lienthong/lienthong/test/procs"
)

// bins holds the paths of the binaries TestMain built.
var bins procs.Bins

// procOpts: a failed test logs the last 6 KiB of each child's stderr, and a child still
// running procs.StopDeadline after SIGTERM fails the test.
var procOpts = procs.Options{StderrTail: 6 << 10, FailSlowStop: true}

func TestMain(m *testing.M) { os.Exit(procs.Main(m, "e2e", &bins)) }
