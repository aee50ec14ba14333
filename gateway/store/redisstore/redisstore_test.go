package redisstore

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/storetest"
	"github.com/lienthong/lienthong/test/redistest"
)

// opener opens stores on one server (or cluster), each in a namespace of its own, so every
// behaviour of the suite starts empty without flushing anything.
func opener(opts Options) storetest.Open {
	var n atomic.Int64
	return func(t *testing.T, now func() time.Time) store.Store {
		t.Helper()
		o := opts
		o.Namespace = fmt.Sprintf("t%d", n.Add(1))
		o.Now = now
		s, err := Open(context.Background(), o)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
}

func TestConformanceSingleServer(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	// Through the URL form of the --redis flag, as the gateway opens it.
	storetest.Run(t, opener(Options{URL: srv.URL()}))
}

func TestConformanceCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	storetest.Run(t, opener(Options{Addrs: c.Addrs(), Cluster: true}))
}

func TestConformanceSentinel(t *testing.T) {
	m := redistest.Start(t, redistest.Options{})
	sentinel := redistest.StartSentinel(t, m, "lienthong")
	// The client asks the Sentinel for the master, then talks to the master.
	storetest.Run(t, opener(Options{URL: "redis://" + sentinel.Addr() + "/?master=lienthong"}))
}

// quietLogger drops go-redis' own log lines (every refused dial of the outage tests).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

// openTest opens a store on a redis-server of the test's own; both end with the test.
func openTest(t testing.TB) *Store {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{})
	s, err := Open(context.Background(), Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
