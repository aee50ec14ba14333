package gateway_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestConcurrentIngestAndLookups runs three partners submitting overlapping batches (each
// batch is sent twice) while two checkpoints look people up, and checks that every call
// succeeds and every record is stored exactly once. Run it with -race.
func TestConcurrentIngestAndLookups(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	partners := map[string]string{"tokhaiyte": tokTokhaiyte, "ncovi": tokNCOVI, "bluezone": tokBluezone}
	const batches, perBatch = 4, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, duplicate := 0, 0
	errc := make(chan error, 64)
	for platform, tok := range partners {
		c := h.client(tok)
		for b := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				decls := make([]*lienthongv1.Declaration, perBatch)
				for i := range decls {
					p := chi
					p.doc = fmt.Sprintf("0%d%d%06d", b, i, 100000+b*perBatch+i) // a 9-digit CMND, the same on every platform
					decls[i] = decl(platform, fmt.Sprintf("%s-%d-%d", platform, b, i), p, now.Add(-time.Hour))
				}
				for range 2 {
					resp, err := c.ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{Declarations: decls})
					if err != nil {
						errc <- err
						return
					}
					mu.Lock()
					accepted += int(resp.GetAcceptedCount())
					duplicate += int(resp.GetDuplicateCount())
					mu.Unlock()
				}
			}()
		}
	}
	for _, tok := range []string{tokCheckpoint, tokCheckpoint2} {
		c := h.client(tok)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				if _, err := c.checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: chipCardQR(an)}); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	want := len(partners) * batches * perBatch
	if accepted != want || duplicate != want {
		t.Fatalf("accepted %d duplicate %d, want %d each: every record stored exactly once", accepted, duplicate, want)
	}
}
