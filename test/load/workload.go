package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// batchSize is the declarations per stream message and per native payload (the contract's
// maximum).
const batchSize = 1000

// batchesPerStream keeps a stream at 50 batches, the contract's 50,000 declarations.
const batchesPerStream = 50

// declarationsPerIdentity is the simulator's ratio of declarations to people (2.4).
const declarationsPerIdentity = 2.4

// chunkDeclarations bounds one generated population, so that a million identities are built
// a chunk at a time and never held as simulator records all at once.
const chunkDeclarations = 240_000

// stream is the declarations of one client stream, all of one platform, encoded.
type stream struct {
	platform canonical.Platform
	batches  []wire         // StreamDeclarationsRequest messages
	count    int            // declarations in batches
	sampled  map[int]string // index in the stream → record id, of the samples it carries
}

// sample is one person whose other QR forms the lookup mix shows.
type sample struct {
	platform canonical.Platform
	recordID string
	person   *sim.Person
}

// workload is everything the harness sends, generated before any timing starts.
type workload struct {
	streams      []stream
	declarations int
	samples      []sample
	native       [][]byte // tokhaiyte CSV payloads of batchSize rows each
	nativeRows   int
	identities   int // the simulator's count of distinct identities, summed over the chunks
}

// buildWorkload generates about identities people (2.4 declarations each) in chunks of
// distinct seeds and record ids, and the native tokhaiyte payloads: nativeRows re-declarations
// of the same people under new form ids.
func buildWorkload(seed int64, identities, nativeRows, samples int, epoch time.Time) *workload {
	w := &workload{}
	total := int(float64(identities) * declarationsPerIdentity)
	chunks := (total + chunkDeclarations - 1) / chunkDeclarations
	perChunkSamples := (samples + chunks - 1) / chunks
	nativePerChunk := (nativeRows + chunks - 1) / chunks
	var csvRows []tokhaiyte.Row
	sampledIDs := map[string]bool{}
	for c := 0; c < chunks; c++ {
		n := min(chunkDeclarations, total-c*chunkDeclarations)
		pop := sim.Generate(sim.Config{Seed: seed + int64(c), Declarations: max(n, 10), Epoch: epoch})
		w.identities += pop.GroundTruth().Summary.Identities
		byPlatform := map[canonical.Platform][]canonical.Declaration{}
		taken := 0
		for _, r := range pop.Records {
			d := r.Typed
			// Chunks share the simulator's record id sequences; a prefix keeps them apart.
			d.Source.RecordID = fmt.Sprintf("c%d-%s", c, d.Source.RecordID)
			byPlatform[r.Platform] = append(byPlatform[r.Platform], d)
			if r.Fault == "" && !r.Superseded && taken < perChunkSamples && len(w.samples) < samples {
				w.samples = append(w.samples, sample{platform: r.Platform, recordID: d.Source.RecordID, person: pop.Person(r.PersonID)})
				sampledIDs[d.Source.RecordID] = true
				taken++
			}
			if r.Fault == "" && len(csvRows) < (c+1)*nativePerChunk && len(csvRows) < nativeRows {
				row := tokhaiyte.EncodeRow(r.Typed)
				row.MaToKhai = fmt.Sprintf("NATIVE-%d-%08d", c, len(csvRows))
				csvRows = append(csvRows, row)
			}
		}
		for _, pl := range []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte} {
			ds := byPlatform[pl]
			for start := 0; start < len(ds); start += batchSize * batchesPerStream {
				s := stream{platform: pl, sampled: map[int]string{}}
				for b := start; b < min(len(ds), start+batchSize*batchesPerStream); b += batchSize {
					msg := &lienthongv1.StreamDeclarationsRequest{}
					for _, d := range ds[b:min(len(ds), b+batchSize)] {
						// A record the simulator wrote in a legacy encoding (invalid UTF-8) is
						// sent as it is: the gateway rejects it alone (invalid_utf8).
						msg.Declarations = append(msg.Declarations, gateway.DeclarationToPB(d))
						if sampledIDs[d.Source.RecordID] {
							s.sampled[s.count+len(msg.Declarations)-1] = d.Source.RecordID
						}
					}
					s.batches = append(s.batches, encode(msg))
					s.count += len(msg.Declarations)
				}
				w.streams = append(w.streams, s)
				w.declarations += s.count
			}
		}
	}
	for start := 0; start < len(csvRows); start += batchSize {
		var b bytes.Buffer
		_ = tokhaiyte.WriteCSV(&b, csvRows[start:min(len(csvRows), start+batchSize)], false)
		w.native = append(w.native, b.Bytes())
	}
	w.nativeRows = len(csvRows)
	return w
}
