package sim

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkGenerate measures generating the source document's 96,347 declarations with their
// ground truth.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		pop := Generate(Config{Seed: 1})
		pop.GroundTruth()
	}
	b.ReportMetric(float64(DefaultDeclarations), "declarations/op")
}

// BenchmarkNCOVIPage measures serving full 500-record pages of the feed over loopback.
func BenchmarkNCOVIPage(b *testing.B) {
	pop := Generate(Config{Seed: 1, People: 4000, Declarations: 12000})
	s, err := Start(context.Background(), pop, ServerConfig{NCOVIToken: testToken, TokhaiyteKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	req, _ := http.NewRequest(http.MethodGet, s.NCOVIURL()+"/api/v1/declarations?limit=500", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(500*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkTokhaiyteWindow measures serving a one-hour export window over loopback.
func BenchmarkTokhaiyteWindow(b *testing.B) {
	pop := Generate(Config{Seed: 1})
	s, err := Start(context.Background(), pop, ServerConfig{NCOVIToken: testToken, TokhaiyteKey: testKey})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	from := pop.Config.Epoch.Add(-2 * time.Hour)
	to := from.Add(time.Hour)
	rows := len(pop.TokhaiyteWindow(from, to))
	req, _ := http.NewRequest(http.MethodGet, s.TokhaiyteURL()+"/export/khai-bao.csv?tu="+from.Format(time.RFC3339)+"&den="+to.Format(time.RFC3339), nil)
	req.Header.Set("X-Api-Key", testKey)
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
