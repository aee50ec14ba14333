package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// layoutItems are the batches of the layout fixture: simulated declarations, and an alias
// chain (weak-2 is an alias of mid, which top then absorbs) so the fixture has aliases to
// re-point and an absorbed view.
func layoutItems(t *testing.T) [][]store.Item {
	items := simItems(3, 60)
	var out [][]store.Item
	for i := 0; i < len(items); i += 20 {
		out = append(out, items[i:min(len(items), i+20)])
	}
	accepted := func(id, qrid string, aliases ...string) store.Item {
		d := declaration(canonical.PlatformBluezone, id, day0)
		d.Source.SubjectID = "subject-" + id
		return store.Item{Accepted: &store.Accepted{Declaration: d, QRID: qrid, Aliases: aliases}}
	}
	out = append(out,
		[]store.Item{accepted("chain-1", "weak-2")},
		[]store.Item{accepted("chain-2", "mid", "weak-2")},
		[]store.Item{accepted("chain-3", "top", "mid")},
	)
	return out
}

// layoutAnswers is everything the store answers about the fixture's data.
type layoutAnswers struct {
	Views           map[string]any
	Histories       map[string]any
	IdentityOf      map[string]string
	Inconsistencies []store.View
	Rejections      []store.Rejected
}

func answersOf(t *testing.T, s *Store, batches [][]store.Item) layoutAnswers {
	t.Helper()
	ctx := context.Background()
	a := layoutAnswers{Views: map[string]any{}, Histories: map[string]any{}, IdentityOf: map[string]string{}}
	var err error
	for _, batch := range batches {
		for _, it := range batch {
			if it.Rejected != nil {
				continue
			}
			qrids := append([]string{it.Accepted.QRID}, it.Accepted.Aliases...)
			for _, q := range qrids {
				if v, err := s.View(ctx, q); err != nil {
					a.Views[q] = errs.KindOf(err).String()
				} else {
					a.Views[q] = v
				}
				if h, err := s.History(ctx, q); err != nil {
					a.Histories[q] = errs.KindOf(err).String()
				} else {
					a.Histories[q] = h
				}
			}
			src := it.Accepted.Declaration.Source
			refs := map[string]store.SourceRef{"record " + string(src.Platform) + " " + src.RecordID: {Platform: src.Platform, RecordID: src.RecordID}}
			if src.SubjectID != "" {
				refs["subject "+string(src.Platform)+" "+src.SubjectID] = store.SourceRef{Platform: src.Platform, SubjectID: src.SubjectID}
			}
			for name, ref := range refs {
				q, err := s.IdentityOf(ctx, ref)
				if err != nil {
					q = errs.KindOf(err).String()
				}
				a.IdentityOf[name] = q
			}
		}
	}
	if a.Inconsistencies, _, err = s.Inconsistencies(ctx, store.InconsistencyQuery{PageSize: 1000}); err != nil {
		t.Fatal(err)
	}
	if a.Rejections, _, err = s.Rejections(ctx, store.RejectionQuery{PageSize: 1000}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(a.Rejections, func(i, j int) bool {
		return a.Rejections[i].Declaration.Source.RecordID < a.Rejections[j].Declaration.Source.RecordID
	})
	return a
}

func marshalAnswers(t *testing.T, a layoutAnswers) []byte {
	t.Helper()
	b, err := json.MarshalIndent(a, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// equalJSON compares two answers after a JSON round trip, so that types decoded from the
// golden file compare with the store's own.
func equalJSON(t *testing.T, got []byte, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}

// fixture copies testdata/name.db into a temporary folder and reads the answers it was
// written with, testdata/name.golden.json.
func fixture(t *testing.T, name string) (path string, golden []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), name+".db")
	if err := copyFile(path, filepath.Join("testdata", name+".db")); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", name+".golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	return path, golden
}

// TestLayout1FileIsMigrated opens a file written by layout 1's code: it answers as it did
// then, its old buckets are gone, and opening it again changes nothing. The code of commit
// 8785418 (layout 1) wrote testdata/layout1.db from layoutItems and layout1.golden.json
// with answersOf (json.Marshal).
func TestLayout1FileIsMigrated(t *testing.T) {
	path, want := fixture(t, "layout1")
	batches := layoutItems(t)
	for round := range 2 {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := marshalAnswers(t, answersOf(t, s, batches)); !equalJSON(t, got, want) {
			t.Errorf("open %d: the migrated file answers differently from testdata/layout1.golden.json", round+1)
		}
		err = s.db.View(func(tx *bolt.Tx) error {
			for _, b := range [][]byte{layout1Views, layout1ByIdentity, layout1AliasOf} {
				if tx.Bucket(b) != nil {
					t.Errorf("open %d: layout 1 bucket %s is still there", round+1, b)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLayout1MigrationResumes interrupts a migration after two small transactions: the next
// Open finishes it, and the file answers as before.
func TestLayout1MigrationResumes(t *testing.T) {
	path, want := fixture(t, "layout1")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.Update(func(tx *bolt.Tx) error {
			done, err := migrateSome(tx, 37)
			if done {
				t.Error("37 entries moved the whole fixture: make the chunk smaller")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := marshalAnswers(t, answersOf(t, s, layoutItems(t))); !equalJSON(t, got, want) {
		t.Error("the file whose migration was interrupted answers differently from testdata/layout1.golden.json")
	}
}

// TestLayout2FileOfEarlierKeys opens a file whose history and subject keys are in the form
// written before they were shortened: testdata/layout2.db, written by the code of commit
// fed7ec3 from layoutItems, with its answers in layout2.golden.json (answersOf). It answers
// as it did; after the same further writes (one absorbing an identity of the file, so its
// entries move) it answers as a file written by this build; and a purge of everything
// leaves none of its index entries behind.
func TestLayout2FileOfEarlierKeys(t *testing.T) {
	ctx := context.Background()
	path, want := fixture(t, "layout2")
	batches := layoutItems(t)
	old, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if got := marshalAnswers(t, answersOf(t, old, batches)); !equalJSON(t, got, want) {
		t.Fatal("the file answers differently from testdata/layout2.golden.json")
	}

	fresh := mustOpen(t, filepath.Join(t.TempDir(), "fresh.db"), nil)
	defer fresh.Close()
	for _, b := range batches {
		if _, err := fresh.WriteBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// top (with the chain's versions) and a simulated identity are absorbed by new ones, and
	// a subject of the file is declared again.
	var sim *store.Accepted
	for _, it := range batches[0] {
		if it.Accepted != nil && it.Accepted.Declaration.Source.SubjectID != "" {
			sim = it.Accepted
			break
		}
	}
	more := func(id, qrid string, subject string, aliases ...string) store.Item {
		d := declaration(canonical.PlatformBluezone, id, day0.Add(time.Hour))
		d.Source.SubjectID = subject
		return store.Item{Accepted: &store.Accepted{Declaration: d, QRID: qrid, Aliases: aliases}}
	}
	batches = append(batches, []store.Item{
		more("chain-4", "top2", "subject-chain-1", "top"),
		more("sim-again", "sim2", sim.Declaration.Source.SubjectID, sim.QRID),
	})
	for _, s := range []*Store{old, fresh} {
		if _, err := s.WriteBatch(ctx, batches[len(batches)-1]); err != nil {
			t.Fatal(err)
		}
	}
	got, wantFresh := marshalAnswers(t, answersOf(t, old, batches)), marshalAnswers(t, answersOf(t, fresh, batches))
	if !equalJSON(t, got, wantFresh) {
		t.Error("after the same writes, the file answers differently from a file written by this build")
	}

	if _, err := old.Purge(ctx, day0.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	err = old.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketVersions, bucketVersionsByTime, bucketVersionsByHour, bucketIdentities, bucketInconsistent, bucketInconsistentByField} {
			c := tx.Bucket(b).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if i := bytes.IndexByte(k, 0); string(b) == string(bucketIdentities) && i >= 0 && i+1 < len(k) && k[i+1] == tagAliasOf {
					continue // aliases are kept by a purge
				}
				t.Errorf("after purging everything, %s still has %q", b, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
