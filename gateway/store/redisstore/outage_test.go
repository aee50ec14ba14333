package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/test/redistest"
)

var day0 = time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)

func testDecl(p canonical.Platform, id string, at time.Time) canonical.Declaration {
	return canonical.Declaration{
		Source: canonical.Source{Platform: p, RecordID: id, Version: canonical.VersionOf(at)},
		Person: canonical.Person{
			FullName: "Trần Thị Bình", NameKey: "tran thi binh",
			BirthDate:   canonical.BirthDate{Year: 1985, Month: 2, Day: 3, Precision: canonical.PrecisionDay},
			Gender:      canonical.GenderFemale,
			Nationality: "VN",
			Document:    canonical.Document{Type: canonical.DocumentCCCD, Number: "079185001234"},
			Phone:       "+84912000111",
		},
		Address:    canonical.Address{Province: "79", ProvinceCode: "79", CodeSet: canonical.CodeSet2021, Province2025: "79"},
		DeclaredAt: at,
		ReceivedAt: at.Add(time.Second),
	}
}

func accepted(qrid string, d canonical.Declaration) store.Item {
	return store.Item{Accepted: &store.Accepted{Declaration: d, QRID: qrid, Verified: true}}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, deadline)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

func TestOutageIsTransientAndRecovers(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	ctx := context.Background()
	s, err := Open(ctx, Options{Addrs: []string{srv.Addr()}, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.WriteBatch(ctx, []store.Item{accepted("qA", testDecl(canonical.PlatformNCOVI, "n-1", day0))}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	const deadline = 3 * time.Second
	ops := []struct {
		name string
		run  func(context.Context) error
	}{
		{"View", func(ctx context.Context) error { _, err := s.View(ctx, "qA"); return err }},
		{"WriteBatch", func(ctx context.Context) error {
			_, err := s.WriteBatch(ctx, []store.Item{accepted("qA", testDecl(canonical.PlatformNCOVI, "n-2", day0.Add(time.Hour)))})
			return err
		}},
		{"Ping", s.Ping},
		{"Counts", func(ctx context.Context) error { _, err := s.Counts(ctx, store.CountQuery{}); return err }},
		{"AcquireLease", func(ctx context.Context) error {
			_, _, err := s.AcquireLease(ctx, "ncovi", "r1", time.Minute)
			return err
		}},
		{"SaveCursor", func(ctx context.Context) error { return s.SaveCursor(ctx, "ncovi", "c", 1) }},
		{"RecordPassage", func(ctx context.Context) error {
			_, err := s.RecordPassage(ctx, store.Passage{ID: "p1", StationID: "S1", At: day0})
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := op.run(ctx)
			if !errs.Is(err, errs.Transient) {
				t.Fatalf("%s with Redis down: %v (kind %v), want errs.Transient", op.name, err, errs.KindOf(err))
			}
			// Failing within the caller's deadline (plus slack for a loaded machine) is the
			// contract: the error comes back, the call does not hang.
			if took := time.Since(start); took > deadline+2*time.Second {
				t.Errorf("%s took %v with Redis down, past its %v deadline", op.name, took, deadline)
			}
		})
	}

	srv.Restart()
	waitFor(t, "store ready after restart", 15*time.Second, func() bool { return s.Ping(ctx) == nil })
	v, err := s.View(ctx, "qA")
	if err != nil || v.Latest[0].RecordID != "n-1" {
		t.Fatalf("View after restart = %+v, %v; want the data kept by the append-only file", v, err)
	}
	res, err := s.WriteBatch(ctx, []store.Item{accepted("qA", testDecl(canonical.PlatformNCOVI, "n-2", day0.Add(time.Hour)))})
	if err != nil || res[0].Outcome != store.OutcomeAccepted {
		t.Fatalf("WriteBatch after restart = %v, %v", res, err)
	}
}

func TestScriptCacheFlushReloads(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	s, err := Open(ctx, Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(id string, at time.Time) {
		t.Helper()
		res, err := s.WriteBatch(ctx, []store.Item{
			accepted("qA", testDecl(canonical.PlatformNCOVI, id, at)),
			{Rejected: &store.Rejected{Declaration: testDecl(canonical.PlatformBluezone, "bad-"+id, at),
				Violations: []canonical.Violation{{Field: "person.phone", Reason: canonical.ReasonInvalidPhone}}}},
		})
		if err != nil || res[0].Outcome != store.OutcomeAccepted || res[1].Outcome != store.OutcomeRejected {
			t.Fatalf("WriteBatch = %v, %v", res, err)
		}
	}
	write("n-1", day0)
	// Our own server only: the harness started it.
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Do("SCRIPT", "EXISTS", writeScript.Hash()); got != "0" {
		t.Fatalf("script still cached after SCRIPT FLUSH: %q", got)
	}
	write("n-2", day0.Add(time.Hour))
	if got, _ := srv.Do("SCRIPT", "EXISTS", writeScript.Hash()); got != "1" {
		t.Errorf("write script not reloaded: SCRIPT EXISTS = %q", got)
	}
	if _, _, err := s.AcquireLease(ctx, "ncovi", "r1", time.Minute); err != nil {
		t.Errorf("lease after flush: %v", err)
	}
	h, err := s.History(ctx, "qA")
	if err != nil || len(h) != 2 {
		t.Errorf("History = %d versions, %v; want 2", len(h), err)
	}
}

func TestOpenUnreachableIsTransient(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	addr := srv.Addr()
	srv.Stop() // a port nobody listens on any more
	_, err := Open(context.Background(), Options{Addrs: []string{addr}, DialTimeout: 500 * time.Millisecond})
	if !errs.Is(err, errs.Transient) {
		t.Fatalf("Open of a stopped server: %v, want errs.Transient", err)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    Options
		wantErr string // substring naming the bad part; "" for success
	}{
		{in: "127.0.0.1:6380", want: Options{Addrs: []string{"127.0.0.1:6380"}}},
		// Several addresses make a cluster client (seed nodes).
		{in: "10.0.0.1:7000, 10.0.0.2:7000", want: Options{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000"}}},
		{in: "redis://localhost", want: Options{Addrs: []string{"localhost:6379"}}},
		{in: "redis://:s3cret@h:6390/2", want: Options{Addrs: []string{"h:6390"}, Password: "s3cret", DB: 2}},
		{in: "redis://h1:7000,h2:7000/?cluster=true&pool=50&read_timeout=300ms&namespace=prod",
			want: Options{Addrs: []string{"h1:7000", "h2:7000"}, Cluster: true, PoolSize: 50, ReadTimeout: 300 * time.Millisecond, Namespace: "prod"}},
		{in: "redis://s1:26379,s2:26379/?master=mymaster", want: Options{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster"}},
		{in: "", wantErr: "empty"},
		{in: "http://h:1", wantErr: "scheme"},
		{in: "h:notaport", wantErr: "address"},
		{in: "redis://h:1/?pool=lots", wantErr: `"pool"`},
		{in: "redis://h:1/?colour=red", wantErr: `"colour"`},
		{in: "redis://h:1/x", wantErr: "database"},
		// A cluster has only database 0.
		{in: "redis://h1:1,h2:1/3", wantErr: "database 3"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr != "" {
				if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTarget(%q) = %v, want an Invalid error mentioning %s", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget(%q): %v", tt.in, err)
			}
			if got.String() != tt.want.String() || got.Password != tt.want.Password || got.DB != tt.want.DB ||
				got.PoolSize != tt.want.PoolSize || got.ReadTimeout != tt.want.ReadTimeout || got.Namespace != tt.want.Namespace {
				t.Errorf("ParseTarget(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want errs.Kind
	}{
		{errors.New("CLUSTERDOWN The cluster is down"), errs.Transient},
		{errors.New("LOADING Redis is loading the dataset in memory"), errs.Transient},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), errs.Transient},
		{context.DeadlineExceeded, errs.Transient},
		// A script bug is ours, not an outage: internal, not retried.
		{errors.New("ERR user_script:1: Script attempted to access nonexistent global variable"), errs.Other},
	}
	for _, tt := range tests {
		if got := errs.KindOf(classify("op", tt.err)); got != tt.want {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestClusterNodeOutageIsTransientAndRecovers(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	ctx := context.Background()
	s, err := Open(ctx, Options{Addrs: c.Addrs(), Cluster: true, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.WriteBatch(ctx, []store.Item{accepted("qA", testDecl(canonical.PlatformNCOVI, "n-1", day0))}); err != nil {
		t.Fatal(err)
	}

	down := c.Nodes[1]
	down.Stop()
	// Counts reads every bucket, so it needs every master: it fails, as Transient, in time.
	const deadline = 5 * time.Second
	cctx, cancel := context.WithTimeout(ctx, deadline)
	start := time.Now()
	_, err = s.Counts(cctx, store.CountQuery{})
	cancel()
	if !errs.Is(err, errs.Transient) {
		t.Fatalf("Counts with a master down: %v (kind %v), want errs.Transient", err, errs.KindOf(err))
	}
	if took := time.Since(start); took > deadline+2*time.Second {
		t.Errorf("Counts took %v with a master down, past its %v deadline", took, deadline)
	}
	if err := s.Ping(ctx); !errs.Is(err, errs.Transient) {
		t.Errorf("Ping with a master down: %v, want errs.Transient", err)
	}

	down.Restart() // same port and node id (nodes.conf): it takes its slots back
	waitFor(t, "cluster serving again", 30*time.Second, func() bool {
		_, err := s.Counts(ctx, store.CountQuery{})
		return err == nil
	})
}

// TestPurgeInTheCutoffMillisecond: a version declared in the cutoff's own millisecond but
// before it is purged, one at the cutoff is kept, and Purge ends.
func TestPurgeInTheCutoffMillisecond(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	s, err := Open(ctx, Options{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cutoff := day0.Add(500 * time.Microsecond)
	before := testDecl(canonical.PlatformNCOVI, "n-before", day0.Add(100*time.Microsecond)) // same millisecond, earlier
	at := testDecl(canonical.PlatformBluezone, "b-at", cutoff)
	if _, err := s.WriteBatch(ctx, []store.Item{accepted("qA", before), accepted("qA", at), accepted("qB", at)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, cutoff)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	for _, q := range []string{"qA", "qB"} {
		h, err := s.History(ctx, q)
		if err != nil || len(h) != 1 || h[0].Source.RecordID != "b-at" {
			t.Errorf("History(%s) = %v, %v; want only b-at", q, records(h), err)
		}
	}
	if n, err := s.Purge(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v", n, err)
	}
}

func records(ds []canonical.Declaration) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Source.RecordID)
	}
	return out
}
