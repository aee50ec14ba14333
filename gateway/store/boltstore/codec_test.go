package boltstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

func sampleView() store.View {
	a := declaration(canonical.PlatformNCOVI, "n-1", day0)
	a.Health.Symptoms = []canonical.Symptom{canonical.SymptomCough, canonical.SymptomFever}
	a.Health.Exposures = []canonical.Exposure{}
	b := declaration(canonical.PlatformTokhaiyte, "t-1", day0.Add(time.Hour+time.Nanosecond))
	b.Person.Phone = "+84987654321"
	b.OnBehalf = true
	v, _ := store.Apply(store.View{}, store.Accepted{Declaration: a, QRID: "q1", Verified: true})
	v, _ = store.Apply(v, store.Accepted{Declaration: b, QRID: "q1"})
	return v
}

func TestViewCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    store.View
	}{
		{"empty", store.View{}},
		{"two platforms with an inconsistency", sampleView()},
		// nil and empty slices stay what they were.
		{"empty slices", store.View{QRID: "q", Latest: []store.Summary{{Symptoms: []canonical.Symptom{}}}, Inconsistencies: []store.Inconsistency{}}},
		{"zero declared time", store.View{QRID: "q", Latest: []store.Summary{{Platform: "x"}}, Revision: 1 << 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got store.View
			if err := decodeView(encodeView(tt.v), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.v) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.v)
			}
		})
	}
}

// A view stored as JSON (by the first version of this store) is still read.
func TestViewCodecReadsJSON(t *testing.T) {
	want := sampleView()
	b, _ := json.Marshal(want)
	var got store.View
	if err := decodeView(b, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("JSON view: %v\n got %+v\nwant %+v", err, got, want)
	}
}

// FuzzDecodeView: no input makes decoding panic or allocate without bound, and whatever
// decodes encodes back to the same bytes.
func FuzzDecodeView(f *testing.F) {
	f.Add(encodeView(sampleView()))
	f.Add(encodeView(store.View{}))
	f.Add([]byte{viewFormat1})                               // truncated
	f.Add([]byte{viewFormat1, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) // a huge slice length
	f.Add([]byte("{}"))                                      // JSON
	f.Fuzz(func(t *testing.T, b []byte) {
		var v store.View
		if err := decodeView(b, &v); err != nil || b[0] == '{' {
			return
		}
		var again store.View
		if err := decodeView(encodeView(v), &again); err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("re-encoding changed the view: %v", err)
		}
	})
}

func BenchmarkDecodeView(b *testing.B) {
	enc := encodeView(sampleView())
	js, _ := json.Marshal(sampleView())
	b.Run("binary", func(b *testing.B) {
		for b.Loop() {
			var v store.View
			if err := decodeView(enc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			var v store.View
			if err := json.Unmarshal(js, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
