package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// layoutItems are the batches of the layout fixture: simulated declarations, and an alias
// chain (weak-2 is an alias of mid, which top then absorbs) so the fixture has aliases to
// re-point and an absorbed view.
func layoutItems(t *testing.T) [][]store.Item {
	items := simItems(t, 3, 60)
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

// TestWriteLayout1Fixture writes testdata/layout1.db and its answers; it was run (with
// BOLTSTORE_WRITE_LAYOUT1=1) by the code that wrote layout 1, before layout 2 existed.
func TestWriteLayout1Fixture(t *testing.T) {
	if os.Getenv("BOLTSTORE_WRITE_LAYOUT1") == "" {
		t.Skip("set BOLTSTORE_WRITE_LAYOUT1=1 to rewrite the fixture")
	}
	path := filepath.Join("testdata", "layout1.db")
	_ = os.Remove(path)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	batches := layoutItems(t)
	for _, b := range batches {
		if _, err := s.WriteBatch(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	writeGolden(t, filepath.Join("testdata", "layout1.golden.json"), answersOf(t, s, batches))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeGolden(t *testing.T, path string, a layoutAnswers) {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
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
