// Package fault holds the gateway's process-level fault tests: the built binaries killed,
// restarted, cut off from Redis and fed failing partners, checked against partnersim's ground
// truth.
//
// The default run takes a few minutes; LIENTHONG_FAULT_SOAK=1 runs the crash test over
// 100,000 declarations.
package fault
