package fault

import (
	"os"
	"testing"

	"github.com/lienthong/lienthong/test/procs"
)

// bins holds the paths of the binaries TestMain built.
var bins procs.Bins

// procOpts: a failed test logs the last 4 KiB of each child's stderr; a child still running
// procs.StopDeadline after SIGTERM is killed without failing the test (the tests crash and
// starve processes on purpose).
var procOpts = procs.Options{StderrTail: 4 << 10}

func TestMain(m *testing.M) { os.Exit(procs.Main(m, "fault", &bins)) }
