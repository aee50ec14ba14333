package boltstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// TestSubjectIndexKeepsTheLastDeclaration: whatever order a subject's declarations are
// noted in, the index answers the last declared; dropping another changes nothing, dropping
// it forgets the subject.
func TestSubjectIndexKeepsTheLastDeclaration(t *testing.T) {
	x := newSubjectIndex()
	var keys [][]byte
	for _, h := range []int{3, 1, 4, 2} {
		d := declaration(canonical.PlatformBluezone, "r"+string(rune('0'+h)), day0.Add(time.Duration(h)*time.Hour))
		d.Source.SubjectID = "bz-1"
		keys = append(keys, subjectKey(&d))
	}
	subject, last := splitSubjectKey(keys[2]) // declared at hour 4
	for _, k := range keys {
		x.note(splitSubjectKey(k))
	}
	if got, ok := x.last(subject); !ok || string(got) != string(last) {
		t.Fatalf("last = %q, %v; want the declaration of hour 4", got, ok)
	}
	x.drop(splitSubjectKey(keys[0]))
	if got, _ := x.last(subject); string(got) != string(last) {
		t.Errorf("after dropping an earlier declaration, last = %q", got)
	}
	x.drop(subject, last)
	if got, ok := x.last(subject); ok {
		t.Errorf("after dropping the last declaration, last = %q", got)
	}
}

// TestSubjectShardKeepsSubjectsOfOneHashApart: two subjects whose hashes are equal keep
// their own entries, through updates and drops of either.
func TestSubjectShardKeepsSubjectsOfOneHashApart(t *testing.T) {
	sh := &subjectShard{m: map[uint64]uint32{}}
	const h = 42
	a, b := []byte("subject-a"), []byte("subject-b")
	sh.set(h, a, []byte("a1"))
	sh.set(h, b, []byte("b1"))
	sh.set(h, b, []byte("b2"))
	for _, c := range []struct {
		subject []byte
		want    string
	}{{a, "a1"}, {b, "b2"}} {
		if got, ok := sh.find(h, c.subject); !ok || string(got) != c.want {
			t.Errorf("find(%s) = %q, %v; want %s", c.subject, got, ok, c.want)
		}
	}
	sh.set(h, a, nil)
	if _, ok := sh.find(h, a); ok {
		t.Error("subject-a found after it was dropped")
	}
	if got, ok := sh.find(h, b); !ok || string(got) != "b2" {
		t.Errorf("after dropping subject-a, find(subject-b) = %q, %v", got, ok)
	}
	sh.set(h, b, []byte("b3"))
	sh.set(h, b, nil)
	if got, ok := sh.find(h, b); ok {
		t.Errorf("subject-b found (%q) after it was dropped", got)
	}
}

// TestIdentityOfSubjectWaitsForTheIndex: until the index has read the file, IdentityOf by
// subject waits, and a caller that stops waiting gets a transient error, not a wrong
// NotFound; by record id it answers at once.
func TestIdentityOfSubjectWaitsForTheIndex(t *testing.T) {
	s := mustOpen(t, t.TempDir()+"/lienthong.db", nil)
	defer s.Close()
	d := declaration(canonical.PlatformNCOVI, "nc-1", day0)
	d.Source.SubjectID = "acct"
	if _, err := s.WriteBatch(context.Background(), []store.Item{{Accepted: &store.Accepted{Declaration: d, QRID: "qA"}}}); err != nil {
		t.Fatal(err)
	}
	<-s.subjects.ready
	s.subjects = newSubjectIndex() // one that has not read the file yet
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := s.IdentityOf(ctx, store.SourceRef{Platform: canonical.PlatformNCOVI, SubjectID: "acct"})
	if !errs.Is(err, errs.Transient) {
		t.Errorf("IdentityOf by subject before the index is ready = %v, want a transient error", err)
	}
	if got, err := s.IdentityOf(context.Background(), store.SourceRef{Platform: canonical.PlatformNCOVI, RecordID: "nc-1"}); err != nil || got != "qA" {
		t.Errorf("IdentityOf by record = %q, %v; want qA", got, err)
	}
	go s.subjects.load(s.db, s.closing)
	if got, err := s.IdentityOf(context.Background(), store.SourceRef{Platform: canonical.PlatformNCOVI, SubjectID: "acct"}); err != nil || got != "qA" {
		t.Errorf("IdentityOf by subject once the index has read the file = %q, %v; want qA", got, err)
	}
}

// TestSubjectShardReusesReplacedBytes: entries replaced hundreds of thousands of times, by
// entries of the same size and of other sizes, leave the shard's data about as large as its
// live entries and a compaction's threshold, with every entry still right.
func TestSubjectShardReusesReplacedBytes(t *testing.T) {
	sh := &subjectShard{m: map[uint64]uint32{}}
	var a, b []byte
	for i := range 300_000 {
		a = fmt.Appendf(a[:0], "%0*d", 1+i%7, i%10)     // 1 to 7 bytes: mostly a new size
		b = fmt.Appendf(b[:0], "declared-%06d", i%1000) // always 15 bytes
		sh.set(1, []byte("subject-a"), a)
		sh.set(2, []byte("subject-b"), b)
	}
	if got, ok := sh.find(1, []byte("subject-a")); !ok || string(got) != string(a) {
		t.Errorf("subject-a = %q, %v; want %q", got, ok, a)
	}
	if got, ok := sh.find(2, []byte("subject-b")); !ok || string(got) != string(b) {
		t.Errorf("subject-b = %q, %v; want %q", got, ok, b)
	}
	if len(sh.data) > subjectCompactMin+sh.live+64 {
		t.Errorf("data holds %d bytes for %d live ones", len(sh.data), sh.live)
	}
}
