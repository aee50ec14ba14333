package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

// TestOpenBuildsTheSubjectIndex: the subject index is built from the stored versions when
// the file opens, so IdentityOf (GetSignedQR by subject id) answers for the declarations
// already stored: the subject's last declared, whatever the order they came in. The
// bySubject bucket an earlier build kept is deleted, not read.
func TestOpenBuildsTheSubjectIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	d := canonical.Declaration{
		Source:     canonical.Source{Platform: canonical.PlatformNCOVI, RecordID: "nc-1", Version: "v1", SubjectID: "acct"},
		Person:     canonical.Person{FullName: "Nguyễn Văn An", NameKey: "nguyen van an"},
		DeclaredAt: at, ReceivedAt: at,
	}
	earlier := d
	earlier.Source.RecordID, earlier.DeclaredAt = "nc-0", at.Add(-time.Hour)
	items := []store.Item{
		{Accepted: &store.Accepted{Declaration: d, QRID: "qA", Verified: true}},
		{Accepted: &store.Accepted{Declaration: earlier, QRID: "qB", Verified: true}},
	}
	if _, err := s.WriteBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	// An earlier build's bucket, naming the other identity's record.
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketBySubject)
		if err != nil {
			return err
		}
		return b.Put(subjectKey(&earlier), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.IdentityOf(ctx, store.SourceRef{Platform: canonical.PlatformNCOVI, SubjectID: "acct"}); err != nil || got != "qA" {
		t.Errorf("IdentityOf by subject after reopening = %q, %v; want qA", got, err)
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBySubject) != nil {
			t.Error("the bySubject bucket is still in the file")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestSubjectRecord: the record key comes back from a subject key, whatever bytes the ids
// hold.
func TestSubjectRecord(t *testing.T) {
	long := string(make([]byte, 200)) // lengths past one varint byte
	for _, c := range []struct{ name, recordID, version string }{
		{"plain", "BZ-000000001", "1"},
		{"empty version", "r1", ""},
		// Each looks like a length prefix followed by the rest of the key.
		{"id of length bytes", "\x01\x02\x03", "\x05"},
		{"id like a record key", "\x08bluezone\x02r1\x011", "1"},
		{"long", long, long},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := declaration(canonical.PlatformBluezone, c.recordID, day0)
			d.Source.Version, d.Source.SubjectID = c.version, "s1"
			rec := recordKey(store.RecordKey{Platform: d.Source.Platform, RecordID: c.recordID, Version: c.version})
			n := len(sourcePrefix(d.Source.Platform, d.Source.SubjectID))
			if got := subjectRecord(d.Source.Platform, subjectKey(&d)[n:]); string(got) != string(rec) {
				t.Errorf("record key %q, want %q", got, rec)
			}
		})
	}
}
