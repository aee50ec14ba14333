package gateway

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway/ingest"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// FuzzDeclarationIngest feeds arbitrary wire bytes through what SubmitDeclarations does to
// one item before the store: decode, map, normalize, validate, key. Whatever a partner sends,
// the item is either accepted with a QR id or rejected with at least one violation naming a
// field and a reason; never a panic.
func FuzzDeclarationIngest(f *testing.F) {
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	seeds := []*lienthongv1.Declaration{
		{},
		{
			Source: &lienthongv1.Source{Platform: "ncovi", RecordId: "nc_1", Version: "1"},
			Person: &lienthongv1.Person{FullName: "Nguyễn Văn An", BirthDate: &lienthongv1.BirthDate{Year: 1990, Month: 5, Day: 17, Precision: lienthongv1.DatePrecision_DATE_PRECISION_DAY},
				Gender: lienthongv1.Gender_GENDER_MALE, Nationality: "VN", Document: &lienthongv1.Document{Number: "079090001234"}, Phone: "0912345678"},
			Address:    &lienthongv1.Address{Province: "Hồ Chí Minh"},
			Health:     &lienthongv1.Health{Symptoms: []string{"fever"}, Exposures: []string{"contact_with_case"}},
			DeclaredAt: timestamppb.New(at),
		},
		{
			Source: &lienthongv1.Source{Platform: "tokhaiyte", RecordId: "TK\x00", Line: -3},
			Person: &lienthongv1.Person{FullName: "\u200b\u0007 ", BirthDate: &lienthongv1.BirthDate{Year: -1, Month: 13, Day: 40, Precision: 7},
				Gender: 9, Document: &lienthongv1.Document{Type: 42, Number: "***"}, FormerCmnd: "12", Phone: "+"},
			Address:    &lienthongv1.Address{ProvinceCode: "99", CodeSet: 5},
			Health:     &lienthongv1.Health{Form: 3, Symptoms: []string{""}},
			DeclaredAt: &timestamppb.Timestamp{Seconds: 1 << 40, Nanos: -1},
		},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	deriver, err := identity.NewDeriver([]byte("lienthong-fuzz-identity-secret!!"))
	if err != nil {
		f.Fatal(err)
	}
	p := ingest.New(ingest.Config{Deriver: deriver})
	f.Fuzz(func(t *testing.T, wire []byte) {
		var m lienthongv1.Declaration
		if proto.Unmarshal(wire, &m) != nil {
			return // gRPC refuses such a message before the service sees it
		}
		it := p.Prepare(context.Background(), declarationFromPB(&m), at)
		switch {
		case it.Accepted != nil && it.Rejected == nil:
			if !identity.LooksLikeQRID(it.Accepted.QRID) {
				t.Fatalf("accepted with QR id %q", it.Accepted.QRID)
			}
		case it.Rejected != nil && it.Accepted == nil:
			if len(it.Rejected.Violations) == 0 {
				t.Fatal("rejected without a violation")
			}
			for _, v := range it.Rejected.Violations {
				if v.Field == "" || v.Reason == "" {
					t.Fatalf("violation without field or reason: %+v", v)
				}
			}
		default:
			t.Fatalf("item is neither accepted nor rejected: %+v", it)
		}
	})
}
