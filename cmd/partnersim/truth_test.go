package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/adapters/registry"
	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway/ingest"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
)

var full = flag.Bool("full", false, "deliver the full default population (96,347 declarations) in TestGroundTruthAgainstTheGatewayPipeline")

// TestGroundTruthAgainstTheGatewayPipeline delivers a whole simulated population through the
// real adapters (the NCOVI and tokhaiyte sources against the simulated servers, Bluezone's
// batches as pushed), the gateway's ingest pipeline with the register check against the
// simulated register, and the embedded store in a temporary file; then compares every answer
// and every identity's view with the ground truth, exactly.
func TestGroundTruthAgainstTheGatewayPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("delivers a population of 5,000 declarations")
	}
	ctx := context.Background()
	cfg := sim.Config{Seed: 21, People: 2000, Declarations: 5000, WrongShare: 0.05, Registry: true, BatchSize: 200, ResendShare: 0.1}
	if *full {
		cfg = sim.Config{Seed: 1, Registry: true} // the source document's 96,347 declarations
	}
	pop := sim.Generate(cfg)
	epoch := pop.Config.Epoch
	now := func() time.Time { return epoch }
	servers, err := sim.Start(ctx, pop, sim.ServerConfig{NCOVIToken: "tok", TokhaiyteKey: "key"})
	if err != nil {
		t.Fatal(err)
	}
	defer servers.Shutdown(ctx)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "lienthong.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deriver, err := identity.NewDeriver([]byte("a deployment secret of 32 bytes!"))
	if err != nil {
		t.Fatal(err)
	}
	checker, err := registry.New(registry.Config{BaseURL: servers.RegistryURL()}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	pipe := ingest.New(ingest.Config{Store: st, Deriver: deriver, Register: checker, Now: now})

	type answer struct {
		outcome string
		reasons []canonical.Reason
	}
	first := map[string]answer{} // platform/record@version → first answer
	var again []answer           // Bluezone re-deliveries, in order
	ingestAll := func(decls []canonical.Declaration, resend bool) {
		t.Helper()
		res, err := pipe.Ingest(ctx, decls)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			a := answer{outcome: r.Outcome, reasons: reasonSet(r.Violations)}
			k := string(decls[i].Source.Platform) + "/" + decls[i].Source.RecordID + "@" + decls[i].Source.Version
			switch {
			case resend:
				again = append(again, a)
			case first[k].outcome == "":
				first[k] = a
			}
		}
	}
	// Bluezone: the push plan, decoded as the webhook decodes it.
	for _, b := range pop.Batches() {
		items := make([]bluezone.Item, len(b.Records))
		for i, ri := range b.Records {
			items[i] = pop.BluezoneItem(pop.Records[ri])
		}
		body, _ := json.Marshal(bluezone.Batch{BatchId: b.ID, Items: items})
		_, decls, err := bluezone.DecodeBatch(body)
		if err != nil {
			t.Fatal(err)
		}
		ingestAll(decls, false)
		if b.Resend {
			ingestAll(decls, true)
		}
	}
	// NCOVI and tokhaiyte: pulled by their real sources from the simulated servers.
	nc, err := ncovi.New(ncovi.Config{BaseURL: servers.NCOVIURL(), Token: "tok", PageSize: 250}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := tokhaiyte.New(tokhaiyte.Config{BaseURL: servers.TokhaiyteURL(), APIKey: "key", Window: 6 * time.Hour, Now: func() time.Time { return epoch.Add(time.Hour) }}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []adapters.Source{nc, tk} {
		cursor := ""
		for {
			page, err := src.Fetch(ctx, cursor)
			if err != nil {
				t.Fatal(err)
			}
			ingestAll(page.Declarations, false)
			cursor = page.Next
			if !page.More {
				break
			}
		}
	}

	gt := pop.GroundTruth()
	mismatches := 0
	fail := func(format string, args ...any) {
		t.Helper()
		mismatches++
		if mismatches <= 30 {
			t.Errorf(format, args...)
		}
	}
	for _, r := range gt.Records {
		k := string(r.Platform) + "/" + r.RecordID + "@" + r.Version
		got, ok := first[k]
		if !ok {
			fail("%s never delivered", k)
			continue
		}
		if got.outcome != string(r.Outcome) || !slices.Equal(got.reasons, r.Reasons) {
			fail("%s (fault %q): %s %v, want %s %v", k, r.Fault, got.outcome, got.reasons, r.Outcome, r.Reasons)
		}
	}
	if len(again) != len(gt.Deliveries) {
		t.Fatalf("%d re-deliveries, want %d", len(again), len(gt.Deliveries))
	}
	for i, d := range gt.Deliveries {
		if again[i].outcome != string(d.Outcome) || !slices.Equal(again[i].reasons, d.Reasons) {
			fail("re-delivery of %s: %s %v, want %s %v", d.RecordID, again[i].outcome, again[i].reasons, d.Outcome, d.Reasons)
		}
	}
	for _, id := range gt.Identities {
		key, ok := sim.KeyFromString(id.Key)
		if !ok {
			t.Fatalf("identity key %q does not parse", id.Key)
		}
		qrid := deriver.QRID(key)
		v, err := st.View(ctx, qrid)
		if err != nil {
			fail("identity %s: %v", id.Key, err)
			continue
		}
		newest := map[canonical.Platform]string{}
		for _, s := range v.Latest {
			newest[s.Platform] = s.RecordID + "@" + s.Version
		}
		var incs []sim.Inconsistency
		for _, inc := range v.Inconsistencies {
			incs = append(incs, sim.Inconsistency{Field: string(inc.Field), Platforms: [2]canonical.Platform{inc.PlatformA, inc.PlatformB}})
		}
		want := slices.Clone(id.Inconsistencies)
		slices.SortFunc(want, func(a, b sim.Inconsistency) int {
			if a.Field != b.Field {
				return cmpString(a.Field, b.Field)
			}
			return cmpString(string(a.Platforms[0])+string(a.Platforms[1]), string(b.Platforms[0])+string(b.Platforms[1]))
		})
		status := store.StatusOf(v, epoch, sim.ValidityWindow).String()
		if v.Verified != id.Verified || !mapsEqual(newest, id.Newest) || !slices.Equal(incs, want) || status != id.Status {
			fail("identity %s: verified %v newest %v inconsistencies %v status %s; want %v %v %v %s",
				id.Key, v.Verified, newest, incs, status, id.Verified, id.Newest, want, id.Status)
		}
		for _, a := range id.Aliases {
			ak, _ := sim.KeyFromString(a)
			if av, err := st.View(ctx, deriver.QRID(ak)); err != nil || av.QRID != v.QRID {
				fail("alias %s of %s: view %q, %v", a, id.Key, av.QRID, err)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d mismatches with the ground truth", mismatches)
	}
	sum := gt.Summary
	t.Logf("compared %d record versions (%d rejected), %d re-deliveries, %d identities (%d unverified, %d inconsistent)",
		len(gt.Records), sum.Total.Rejected, len(gt.Deliveries), len(gt.Identities), sum.Unverified, sum.InconsistentIdentity)
}

func reasonSet(vs []canonical.Violation) []canonical.Reason {
	var out []canonical.Reason
	for _, v := range vs {
		if !slices.Contains(out, v.Reason) {
			out = append(out, v.Reason)
		}
	}
	slices.Sort(out)
	return out
}

func cmpString(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

func mapsEqual(a, b map[canonical.Platform]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
