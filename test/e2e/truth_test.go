package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway/keys"
)

// truth is a partnersim ground truth file, read back.
type truth struct {
	records    []sim.TruthRecord
	identities []sim.TruthIdentity
	demo       []sim.DemoQR
	summary    sim.Summary
}

func loadTruth(t *testing.T, path string) *truth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := &truth{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var head struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			t.Fatalf("ground truth %s: %v", path, err)
		}
		var err error
		switch head.Type {
		case "record":
			var r sim.TruthRecord
			err = json.Unmarshal(sc.Bytes(), &r)
			tr.records = append(tr.records, r)
		case "identity":
			var id sim.TruthIdentity
			err = json.Unmarshal(sc.Bytes(), &id)
			tr.identities = append(tr.identities, id)
		case "demo_qr":
			var q sim.DemoQR
			err = json.Unmarshal(sc.Bytes(), &q)
			tr.demo = append(tr.demo, q)
		case "summary":
			err = json.Unmarshal(sc.Bytes(), &tr.summary)
		}
		if err != nil {
			t.Fatalf("ground truth %s: %s line: %v", path, head.Type, err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if tr.summary.Type != "summary" || len(tr.records) != tr.summary.Total.Versions {
		t.Fatalf("ground truth %s: %d records, summary %+v", path, len(tr.records), tr.summary.Total)
	}
	return tr
}

// deriverOf reads the gateway's identity secret (base64 in <data-dir>/identity-secret) and
// returns a Deriver of the same QR ids the gateway computes.
func deriverOf(t *testing.T, dataDir string) *identity.Deriver {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, keys.IdentitySecretFile))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("identity secret: %v", err)
	}
	d, err := identity.NewDeriver(secret)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// parseKey reads an identity key as the ground truth writes it ("cccd:079090001234",
// "passport:VN:B1234567", "weak:+8491...|nguyen van an|1990").
func parseKey(t *testing.T, s string) identity.Key {
	t.Helper()
	k, ok := keyOf(s)
	if !ok {
		t.Fatalf("ground truth identity key %q has no known kind", s)
	}
	return k
}

func keyOf(s string) (identity.Key, bool) {
	kinds := map[string]identity.KeyKind{"cccd": identity.KindCCCD, "cmnd": identity.KindCMND, "passport": identity.KindPassport, "weak": identity.KindWeak}
	kind, value, ok := strings.Cut(s, ":")
	if !ok || kinds[kind] == identity.KindNone || value == "" {
		return identity.Key{}, false
	}
	return identity.Key{Kind: kinds[kind], Value: value}, true
}
