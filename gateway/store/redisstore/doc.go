// Package redisstore keeps the gateway's state in Redis (one server, Sentinel or Redis Cluster).
//
// # Key design
//
// Keys are spread over 1024 buckets. A bucket is a hash tag, {b<N>}, so all its keys live in
// one cluster slot and a Lua script may touch them together. An identity's bucket is a hash
// of its QR id; a rejection's and a record key's marker, a hash of the record key; a passage's,
// a hash of its id; an access's, a hash of its QR id (or principal). With namespace "lt":
//
//	lt:{bN}:v:<qrid>    the identity's view: "V<revision>\n" + binary view, or "A<qrid>" when
//	                    the identity is an alias of (was absorbed by) another
//	lt:{bN}:d:<qrid>    hash: record key → binary declaration (every stored version; dedupe)
//	lt:{bN}:cnt         hash: counter cell (store.CellKey) → count
//	lt:{bN}:inc         sorted set (lexical): inconsistency index, "a|qrid", "f|field|qrid",
//	                    "p|A|B|qrid", "fp|field|A|B|qrid"
//	lt:{bN}:old         sorted set: qrid by its oldest declared time (ms), for Purge
//	lt:{bN}:s<k>        integer sets: 63-bit hashes of accepted record keys (k < 64), so a
//	                    rejection of an accepted record key is a duplicate
//	lt:{bN}:rj          hash: record key → binary rejection
//	lt:{bN}:rji         sorted set (lexical): rejection index by time, platform, reason
//	lt:{bN}:ps          hash: passage id → "" (dedupe)
//	lt:{bN}:acc, acci, accn   access records, their index by time, QR id, principal, and a
//	                    sequence
//	lt:{l:<name>}:lease, :token, :cursor   a pull adapter's lease, fencing token and cursor
//
// # Writes
//
// WriteBatch reads the views and the record keys already stored of the batch's identities in
// one pipeline, merges the new declarations with store.Apply (the one place for the merge),
// and runs one script per identity, pipelined: it checks that the view's revision is the one
// read (compare-and-set) and that no record key is stored yet, then stores the versions, the
// view, the counter increments and the index changes at once. Counters therefore change
// exactly when a version is first stored, whatever the re-deliveries and crashes. A lost
// compare-and-set re-reads and retries that identity; after Options.CASRetries the batch
// fails with errs.Conflict (the caller retries it whole; writes are idempotent).
//
// An identity naming a weak QR id in Accepted.Aliases absorbs it: the weak identity's
// versions are copied into the strong one (no counting: they were counted when first stored)
// and then, by a second compare-and-set script in the weak identity's own slot, its view is
// replaced by "A<strong>". A crash between the two leaves both, and the next write naming the
// alias (or the retried batch) finishes the move. Later writes and lookups by the weak
// id follow the alias (one more GET).
//
// Audit reads (counts, inconsistencies, rejections, access log, purge) read all 1024
// buckets with one pipeline: no KEYS or SCAN anywhere. Listings merge the buckets' sorted
// index ranges, which gives exact pages with a token that is the last member returned.
//
// Values are a hand-written binary encoding (codec.go), several times smaller than JSON;
// TestMemoryPerIdentity measures the bytes per identity.
//
// Failures of Redis (refused, timeouts, CLUSTERDOWN, LOADING, ...) are errs.Transient.
package redisstore
