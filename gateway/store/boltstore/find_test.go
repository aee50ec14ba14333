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

// TestOpenBuildsTheSubjectIndex: a file written before the bySubject index existed gets it
// built when opened, so GetSignedQR by subject id works on the declarations already stored.
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
	if _, err := s.WriteBatch(ctx, []store.Item{{Accepted: &store.Accepted{Declaration: d, QRID: "qA", Verified: true}}}); err != nil {
		t.Fatal(err)
	}
	// Make it a file of the earlier layout.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketBySubject) }); err != nil {
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
}
