package boltstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

var day0 = time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)

func declaration(p canonical.Platform, id string, at time.Time) canonical.Declaration {
	return canonical.Declaration{
		Source: canonical.Source{Platform: p, RecordID: id, Version: canonical.VersionOf(at)},
		Person: canonical.Person{
			FullName: "Trần Thị Bình", NameKey: "tran thi binh",
			BirthDate: canonical.BirthDate{Year: 1985, Precision: canonical.PrecisionYear},
			Gender:    canonical.GenderFemale,
			Document:  canonical.Document{Type: canonical.DocumentCCCD, Number: "001185004321"},
			Phone:     "+84901234567",
		},
		Address:    canonical.Address{ProvinceCode: "01", CodeSet: canonical.CodeSet2021, Province2025: "01"},
		DeclaredAt: at,
		ReceivedAt: at.Add(time.Second),
	}
}

func mustOpen(t *testing.T, path string, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(path, Options{Now: now, Timeout: time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lienthong.db")
	now := func() time.Time { return day0 }
	s := mustOpen(t, path, now)
	d := declaration(canonical.PlatformNCOVI, "n-1", day0)
	bad := declaration(canonical.PlatformTokhaiyte, "t-1", day0)
	_, err := s.WriteBatch(ctx, []store.Item{
		{Accepted: &store.Accepted{Declaration: d, QRID: "qA", Verified: true, Aliases: []string{"weak-A"}}},
		{Rejected: &store.Rejected{Declaration: bad, Violations: []canonical.Violation{{Field: "person.phone", Reason: canonical.ReasonInvalidPhone}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordPassage(ctx, store.Passage{ID: "p1", StationID: "S1", QRID: "qA", Decision: store.DecisionAllowed, At: day0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAccess(ctx, store.Access{At: day0, Principal: "moh", Action: "history", QRID: "qA", Reason: "audit"}); err != nil {
		t.Fatal(err)
	}
	lease, _, err := s.AcquireLease(ctx, "ncovi", "replica-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCursor(ctx, "ncovi", "cursor-7", lease.Token); err != nil {
		t.Fatal(err)
	}
	want, _ := s.View(ctx, "qA")
	wantCounts, _ := s.Counts(ctx, store.CountQuery{})
	store.SortCounts(wantCounts)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	later := func() time.Time { return day0.Add(time.Hour) }
	s = mustOpen(t, path, later)
	defer s.Close()
	if got, err := s.View(ctx, "weak-A"); err != nil || got.QRID != "qA" || got.Revision != want.Revision {
		t.Errorf("view after reopen (by alias) = %+v, %v; want %+v", got, err, want)
	}
	if h, err := s.History(ctx, "qA"); err != nil || len(h) != 1 || h[0].Source.RecordID != "n-1" {
		t.Errorf("history after reopen = %+v, %v", h, err)
	}
	gotCounts, _ := s.Counts(ctx, store.CountQuery{})
	store.SortCounts(gotCounts)
	if fmt.Sprint(gotCounts) != fmt.Sprint(wantCounts) || len(gotCounts) != 3 {
		t.Errorf("counts after reopen = %+v, want %+v", gotCounts, wantCounts)
	}
	if rs, _, err := s.Rejections(ctx, store.RejectionQuery{}); err != nil || len(rs) != 1 {
		t.Errorf("rejections after reopen = %+v, %v", rs, err)
	}
	if as, _, err := s.AccessLog(ctx, store.AccessQuery{}); err != nil || len(as) != 1 || as[0].Reason != "audit" {
		t.Errorf("access log after reopen = %+v, %v", as, err)
	}
	if dup, err := s.RecordPassage(ctx, store.Passage{ID: "p1", StationID: "S1", At: day0}); err != nil || !dup {
		t.Errorf("passage after reopen not remembered: %v, %v", dup, err)
	}
	if c, err := s.Cursor(ctx, "ncovi"); err != nil || c != "cursor-7" {
		t.Errorf("cursor after reopen = %q, %v", c, err)
	}
	// The lease expired while the store was closed; the next holder's token is still greater.
	if l, ok, err := s.AcquireLease(ctx, "ncovi", "replica-b", time.Minute); err != nil || !ok || l.Token <= lease.Token {
		t.Errorf("lease after reopen = %+v, %v, %v; want a token above %d", l, ok, err, lease.Token)
	}
	// A record written before the restart is still a duplicate.
	res, err := s.WriteBatch(ctx, []store.Item{{Accepted: &store.Accepted{Declaration: d, QRID: "qA"}}})
	if err != nil || res[0].Outcome != store.OutcomeDuplicate {
		t.Errorf("re-delivery after reopen = %v, %v", res, err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lienthong.db")
	s := mustOpen(t, path, nil)
	defer s.Close()
	// A second process (here: a second Open) waits for the lock, then gives up.
	_, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if !errs.Is(err, errs.Transient) {
		t.Errorf("second Open = %v, want a transient error", err)
	}
}

func TestClosedStoreIsTransient(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "lienthong.db"), nil)
	_ = s.Close()
	if err := s.Ping(context.Background()); !errs.Is(err, errs.Transient) {
		t.Errorf("Ping after Close = %v, want transient", err)
	}
	_, err := s.WriteBatch(context.Background(), []store.Item{{Accepted: &store.Accepted{
		Declaration: declaration(canonical.PlatformNCOVI, "n-1", day0), QRID: "qA"}}})
	if !errs.Is(err, errs.Transient) {
		t.Errorf("WriteBatch after Close = %v, want transient", err)
	}
}

const crashEnv = "LIENTHONG_BOLTSTORE_CRASH_FILE"

const crashBatch = 50

func crashItems(batch int) []store.Item {
	items := make([]store.Item, crashBatch)
	for i := range items {
		d := declaration(canonical.PlatformBluezone, fmt.Sprintf("b-%d-%d", batch, i), day0.Add(time.Duration(batch)*time.Minute))
		items[i] = store.Item{Accepted: &store.Accepted{Declaration: d, QRID: fmt.Sprintf("crash-%d-%d", batch, i%10), Verified: true}}
	}
	return items
}

// TestCrashChild is the child process of TestCrash: it writes batches until it is killed,
// printing the number of each batch the store acknowledged.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("only runs as TestCrash's child process")
	}
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	// Bounded, so that a child whose parent died does not write forever.
	for batch := 0; batch < 100000; batch++ {
		if _, err := s.WriteBatch(context.Background(), crashItems(batch)); err != nil {
			fmt.Println("write:", err)
			os.Exit(2)
		}
		fmt.Printf("ack %d\n", batch)
	}
}

func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("child")
	}
	path := filepath.Join(t.TempDir(), "lienthong.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	lines := bufio.NewScanner(out)
	killed := false
	for lines.Scan() {
		line := lines.Text()
		n, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue
		}
		acked, _ = strconv.Atoi(n)
		// Kill it mid-way, while it is writing its next batch.
		if acked == 20 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped on its own after batch %d", acked)
	}

	s := mustOpen(t, path, nil)
	defer s.Close()
	// The file is consistent: every page reachable once, no page both free and in use.
	err = s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("file check after SIGKILL: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for batch := 0; batch <= acked; batch++ {
		for q := range 10 {
			h, err := s.History(ctx, fmt.Sprintf("crash-%d-%d", batch, q))
			if err != nil || len(h) != crashBatch/10 {
				t.Fatalf("acknowledged batch %d lost after SIGKILL: identity %d has %d versions (%v)", batch, q, len(h), err)
			}
		}
	}
	// A batch is all or nothing: the one being written when killed is whole or absent.
	if _, err := s.History(ctx, fmt.Sprintf("crash-%d-0", acked+1)); err == nil {
		for q := range 10 {
			if h, err := s.History(ctx, fmt.Sprintf("crash-%d-%d", acked+1, q)); err != nil || len(h) != crashBatch/10 {
				t.Errorf("batch %d half written: identity %d has %d versions", acked+1, q, len(h))
			}
		}
	}
	t.Logf("child acknowledged %d batches before SIGKILL; all found after reopening", acked+1)
}

// TestWritebackEndsWithTheStore: a store that syncs starts writing its file back while it
// commits, with a goroutine and a second descriptor of its own, and Close ends both (a store
// without fsync has none).
func TestWritebackEndsWithTheStore(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "lienthong.db"), nil)
	if canStartWriteback && s.writeback == nil {
		t.Fatal("a store that syncs has no writeback")
	}
	d := declaration(canonical.PlatformNCOVI, "n-wb", day0)
	if _, err := s.WriteBatch(ctx, []store.Item{{Accepted: &store.Accepted{Declaration: d, QRID: "qWB", Verified: true}}}); err != nil {
		t.Fatal(err)
	}
	w := s.writeback
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if w != nil {
		select {
		case <-w.done:
		default:
			t.Error("the writeback goroutine still runs after Close")
		}
		if err := w.f.Close(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("the writeback's file after Close: %v, want it closed", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ns, err := Open(filepath.Join(t.TempDir(), "nosync.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if ns.writeback != nil {
		t.Error("a store without fsync starts a writeback")
	}
}
