package sim

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical"
)

// decodeNative runs a record through the real native format and the adapter's decoder, as
// the gateway receives it.
func decodeNative(t *testing.T, pop *Population, r *Record) canonical.Declaration {
	t.Helper()
	switch r.Platform {
	case canonical.PlatformBluezone:
		body, err := json.Marshal(bluezone.Batch{BatchId: "b", Items: []bluezone.Item{pop.BluezoneItem(r)}})
		if err != nil {
			t.Fatal(err)
		}
		_, decls, err := bluezone.DecodeBatch(body)
		if err != nil || len(decls) != 1 {
			t.Fatalf("%s: decode: %v (%d)", r.RecordID, err, len(decls))
		}
		return decls[0]
	case canonical.PlatformNCOVI:
		body, err := json.Marshal(ncovi.PageBody{Data: []ncovi.Record{pop.NCOVIRecord(r)}})
		if err != nil {
			t.Fatal(err)
		}
		decls, _, _, err := ncovi.DecodePage(body)
		if err != nil || len(decls) != 1 {
			t.Fatalf("%s: decode: %v (%d)", r.RecordID, err, len(decls))
		}
		return decls[0]
	default:
		csv := append(slices.Clone(tokhaiyteHeader), pop.TokhaiyteLine(r)...)
		decls, err := tokhaiyte.DecodeCSV(bytes.NewReader(csv))
		if err != nil || len(decls) != 1 {
			t.Fatalf("%s: decode: %v (%d)", r.RecordID, err, len(decls))
		}
		return decls[0]
	}
}

func reasonSet(vs canonical.Violations) []canonical.Reason {
	var out []canonical.Reason
	for _, v := range vs {
		if !slices.Contains(out, v.Reason) {
			out = append(out, v.Reason)
		}
	}
	slices.Sort(out)
	return out
}

// TestEveryRecordThroughTheRealPipeline is the guard on the ground truth: every record,
// encoded by the adapters' encoders, decoded by their decoders, normalized and validated by
// canonical, must be rejected with exactly its intended reasons, or be valid and normalize to
// its intended identity fields.
func TestEveryRecordThroughTheRealPipeline(t *testing.T) {
	pop := Generate(Config{Seed: 7, People: 2500, Declarations: 6000, WrongShare: 0.08, Registry: true})
	now := pop.Config.Epoch
	failures := 0
	for _, r := range pop.Records {
		d := canonical.Normalize(decodeNative(t, pop, r))
		got := reasonSet(canonical.Validate(d, now))
		want := slices.Clone(r.Reasons)
		// The register's verdicts come from the register check, not Validate.
		want = slices.DeleteFunc(want, func(x canonical.Reason) bool {
			return x == canonical.ReasonRegistryMismatch || x == canonical.ReasonRegistryUnknown
		})
		if len(want) == 0 {
			want = nil
		}
		if !slices.Equal(got, want) {
			failures++
			if failures < 40 {
				t.Errorf("%s %s fault %q: reasons %v, want %v; %v", r.Platform, r.RecordID, r.Fault, got, want, canonical.Validate(d, now))
			}
			continue
		}
		if r.Fault != "" {
			continue
		}
		gp, wp := d.Person, r.Intended.Person
		ga, wa := d.Address, r.Intended.Address
		type cmp struct {
			field     string
			got, want any
		}
		for _, c := range []cmp{
			{"name_key", gp.NameKey, wp.NameKey},
			{"birth_date", gp.BirthDate, wp.BirthDate},
			{"gender", gp.Gender, wp.Gender},
			{"nationality", gp.Nationality, wp.Nationality},
			{"document", gp.Document, wp.Document},
			{"phone", gp.Phone, wp.Phone},
			{"province_code", ga.ProvinceCode, wa.ProvinceCode},
			{"province_2025", ga.Province2025, wa.Province2025},
			{"declared_at", d.DeclaredAt, r.DeclaredAt},
			{"version", d.Source.Version, r.Version},
		} {
			if c.got != c.want {
				failures++
				if failures < 40 {
					t.Errorf("%s %s %s: got %v, want %v (typed %q)", r.Platform, r.RecordID, c.field, c.got, c.want, typedField(r, c.field))
				}
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d mismatches", failures)
	}
}

func typedField(r *Record, field string) string {
	switch field {
	case "phone":
		return r.Typed.Person.Phone
	case "province_code", "province_2025":
		return r.Typed.Address.Province
	case "document":
		return r.Typed.Person.Document.Number
	case "name_key":
		return r.Typed.Person.FullName
	}
	return ""
}
