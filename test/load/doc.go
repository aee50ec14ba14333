// Command load is the benchmark and load harness of issue 7: it builds and starts the gateway
// as a real process (embedded store, then Redis), preloads it with simulated identities,
// drives lookups against an echo baseline and ingest against a bare gRPC sink and the disk's
// durable write rate, and writes a markdown table of the results.
//
// Usage:
//
//	go run ./test/load --identities 1000000 --duration 30s --concurrency 50 --out results.md
//	go run ./test/load --smoke --out /tmp/smoke.md   # a few seconds, both stores, no targets
package main
