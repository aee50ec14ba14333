package boltstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// fillAll sets every field reachable from v to a non-zero value that differs per field, and
// every slice to two elements, so that a codec that forgets a field fails a round trip.
func fillAll(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(string(rune('a'+*n%26)) + string(rune('A'+*n/26%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n%100 + 1))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(int64(1_700_000_000+*n), int64(*n)).UTC()))
			return
		}
		for i := range v.NumField() {
			fillAll(v.Field(i), n)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(s.Index(i), n)
		}
		v.Set(s)
	default:
		panic("fillAll: add a case for " + v.Kind().String())
	}
}

func TestVersionCodecCoversEveryField(t *testing.T) {
	var want version
	n := 0
	fillAll(reflect.ValueOf(&want).Elem(), &n)
	var got version
	if err := decodeVersion(encodeVersion(want), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("a field is lost (a new field of canonical.Declaration needs a line in codec_version.go):\n got %+v\nwant %+v", got, want)
	}
}

func TestVersionCodecRoundTrip(t *testing.T) {
	d := declaration(canonical.PlatformNCOVI, "n-1", day0)
	empty := d
	empty.Health.Symptoms, empty.Problems = []canonical.Symptom{}, []canonical.Violation{}
	tests := []struct {
		name string
		v    version
	}{
		{"zero", version{}},
		{"declaration", version{QRID: "q1", Verified: true, Declaration: d}},
		// nil and empty slices stay what they were.
		{"empty slices", version{QRID: "q1", Declaration: empty}},
		{"unicode and a negative line", version{QRID: "q", Declaration: canonical.Declaration{
			Person: canonical.Person{FullName: "Nguyễn Thị Ánh"}, Source: canonical.Source{Line: -1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got version
			if err := decodeVersion(encodeVersion(tt.v), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.v) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.v)
			}
			if q, err := versionQRID(encodeVersion(tt.v)); err != nil || q != tt.v.QRID {
				t.Errorf("versionQRID = %q, %v; want %q", q, err, tt.v.QRID)
			}
		})
	}
	// Versions written as JSON by the first version of this store are still read.
	js, _ := json.Marshal(version{QRID: "q1", Declaration: d})
	var got version
	if err := decodeVersion(js, &got); err != nil || got.QRID != "q1" || !reflect.DeepEqual(got.Declaration, d) {
		t.Errorf("JSON version: %v, %+v", err, got)
	}
	if q, err := versionQRID(js); err != nil || q != "q1" {
		t.Errorf("versionQRID of JSON = %q, %v; want q1", q, err)
	}
	if _, err := versionQRID([]byte{versionFormat1, 200}); err == nil {
		t.Error("versionQRID of a truncated version: no error")
	}
}

// FuzzDecodeVersion: no input makes decoding panic, and whatever decodes encodes back to the
// same version.
func FuzzDecodeVersion(f *testing.F) {
	f.Add(encodeVersion(version{QRID: "q1", Verified: true, Declaration: declaration(canonical.PlatformNCOVI, "n-1", day0)}))
	f.Add(encodeVersion(version{}))
	f.Add([]byte{versionFormat1, 2, 'q'}) // truncated
	f.Fuzz(func(t *testing.T, b []byte) {
		var v version
		if err := decodeVersion(b, &v); err != nil || b[0] == '{' {
			return
		}
		var again version
		if err := decodeVersion(encodeVersion(v), &again); err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("re-encoding changed the version: %v", err)
		}
	})
}
