// Package redisstore keeps the gateway's state in Redis (one server, Sentinel or Redis Cluster).
//
// # Key design
//
// Keys are spread over 1024 buckets. A bucket is a hash tag, {b<N>}, so all its keys live in
// one cluster slot and a Lua script may touch them together. An identity's bucket is a hash
// of its QR id; a rejection's and a record key's marker, a hash of the record key; a passage's,
// a hash of its id; an access's, a hash of its QR id (or principal). With namespace "lt":
//
//	lt:{bN}:v:<qrid>    the identity: "V<revision>.<generation>\n" + its view and then every
//	                    stored version of its declarations, in one compact binary value (the
//	                    record keys in it are the identity's dedupe), or "A<qrid>" when the
//	                    identity is an alias of (was absorbed by) another;
//	                    "<revision>.<generation>" is its compare-and-set token
//	lt:{bN}:d:<qrid>    only in data written by earlier versions: the versions, in one
//	                    DEFLATE-compressed string (see "Stored format" below)
//	lt:{bN}:cnt         hash: counter cell (store.CellKey) → count
//	lt:{bN}:inc         sorted set (lexical): inconsistency index, "a|qrid", "f|field|qrid",
//	                    "p|A|B|qrid", "fp|field|A|B|qrid"
//	lt:{bN}:old         sorted set: qrid by its oldest declared time (ms), for Purge
//	lt:{bN}:s<k>        integer sets: 63-bit hashes of accepted record keys (k < 64), so a
//	                    rejection of an accepted record key is a duplicate
//	lt:{bN}:x<k>        source index (k < 16), small hashes: 32 bits of a hash of a platform's
//	                    record id → its identity's QR id; of a subject id → its newest
//	                    declaration's time and record hash (see IdentityOf)
//	lt:{bN}:rj          hash: record key → binary rejection
//	lt:{bN}:rji         sorted set (lexical): rejection index by time, platform, reason
//	lt:{bN}:ps          hash: passage id → "" (dedupe)
//	lt:{bN}:aq:<qrid>   the accesses of a QR id: entries appended one after the other, each
//	                    the length (uvarint) of "stamp|bucket|id|<access>" and that key
//	lt:{bN}:acci        sorted set (lexical): the access log's index: chunks are named by
//	                    "A|window|chunk" and "U|principal|window|chunk"; earlier versions
//	                    added an access of a QR id as a member carrying it,
//	                    "q|qrid|stamp|bucket|id|<access>" (in bucket bucketOf(qrid) % 64, or
//	                    before that bucketOf(qrid))
//	lt:{bN}:accc        hash: chunk id → an access chunk, the accesses of one principal in
//	                    one second (window) of one AppendAccess call, in its bucket
//	lt:{bN}:acc         only in data written by earlier versions: hash of accesses by a
//	                    random id, named by per-access members "a|", "u|principal|", "q|"
//	lt:{l:<name>}:lease, :token, :cursor   a pull adapter's lease, fencing token and cursor
//
// # Writes
//
// WriteBatch reads the views and the versions of the batch's identities in one pipeline,
// drops the record keys already stored (duplicates), merges the new declarations with
// store.Apply (the one place for the merge), and runs one script per identity, pipelined: it
// checks that the view's token is the one read (compare-and-set: no other write of the view
// or of the versions came between), then stores the versions, the view, the counter
// increments and the index changes at once. The token's generation changes with every write
// of the versions, so a late older version, which leaves the view and its Revision as they
// were, still guards the versions. Counters therefore change
// exactly when a version is first stored, whatever the re-deliveries and crashes. A lost
// compare-and-set re-reads and retries that identity; after Options.CASRetries the batch
// fails with errs.Conflict (the caller retries it whole; writes are idempotent).
//
// An identity naming a weak QR id in Accepted.Aliases absorbs it: the weak identity's
// versions are copied into the strong one (no counting: they were counted when first stored)
// and then, by a second compare-and-set script in the weak identity's own slot, its view is
// replaced by "A<strong>" (a weak QR id that names no identity yet is claimed with SET NX). A crash between the two leaves both, and the next write naming the
// alias (or the retried batch) finishes the move. Later writes and lookups by the weak
// id follow the alias (one more GET).
//
// # Finding an identity by a platform's id
//
// IdentityOf (GetSignedQR by record_id or subject_id) reads the source index: a record id's
// entry names its identity; a subject id's entry holds its newest declaration's declared
// second and a pointer to that declaration's record entry (12 bytes instead of a QR id), kept
// by a script that only replaces it with a later one. The entries are written before the
// identities' scripts, with idempotent commands, and WriteBatch waits for them: the identity
// is in another slot of a Cluster, so a crash in between can leave an entry naming an
// identity that does not hold the record yet. IdentityOf therefore follows the entry through
// aliases and checks that the identity holds a declaration of that platform with that id;
// anything else (such an entry, a purged record, two ids whose 46-bit hashes collide) answers
// NotFound, never another person. Purge deletes the entries of the records it removes.
// The index adds about 105 bytes per identity with two records and two subjects
// (TestMemoryPerIdentity when it was added: 901 → 1007 bytes); its hashes stay compact
// (listpack) up to 16 × 1024 × hash-max-listpack-entries entries (2 million at the default
// 128; set 512 for 8 million).
//
// Audit reads (counts, inconsistencies, rejections, access log, purge) read all 1024
// buckets with one pipeline: no KEYS or SCAN anywhere. Listings merge the buckets' sorted
// index ranges, which gives exact pages with a token that is the last member returned.
//
// Values are a hand-written binary encoding (codec.go), several times smaller than JSON. An
// identity's view and versions are one compact value (compact.go): strings repeated within
// it written once, version texts and times as varint differences, UUIDs as 16 bytes. The
// view comes first, so a lookup decodes only the view. TestMemoryPerIdentity measures about
// 800 bytes per identity with two platforms' declarations.
//
// # Stored format
//
// Data written by earlier versions is read: a view whose body is DEFLATE-compressed (and the
// versions in lt:{bN}:d:<qrid>), told apart by the body's first byte (compact values start
// with a byte DEFLATE never does). An identity's next write stores it in the compact form
// and deletes its d: key. Earlier versions of the gateway cannot read the compact form (they
// report a corrupt value), so upgrade every replica sharing a Redis together.
//
// # Lookups
//
// View calls arriving together share pipelines (pipeline.go): a caller queues its GET, and
// one flusher goroutine at a time sends whatever is queued in one pipeline and hands every
// caller its reply, so under load a lookup costs Redis and the gateway a fraction of a
// system call; each caller still waits under its own context.
//
// # Access log
//
// The gateway writes lookups' accesses in batches (up to 4,096 gathered for 20 ms), so the
// log is written for the batch, not for each access alone: AppendAccess is one pipeline of
// plain commands. Each access of a QR id is one entry carrying it, APPENDed to the QR id's
// access key: auditors find a person's accesses (and a principal's accesses of that person,
// filtered) in that key, with those earlier versions wrote as sorted-set members, "q|qrid|",
// in one range of every bucket. An APPEND costs Redis the same however many accesses there
// are, where a member went to a random place of a large skip list: at 100,000 identities in
// the load harness those ZADDs were about two thirds of redis-server's CPU time per lookup.
// Every access is also in a chunk:
// the accesses of one principal in one second (the window) of one call, encoded together
// (the principal once) in a hash under a random id, named by two short members,
// "A|window|chunk" for the whole log and "U|principal|window|chunk", both in the
// principal's bucket. A busy gateway's batch has few principals, so an access costs Redis
// about one member, added with others, instead of three ZADDed on their own as earlier
// versions did (one for each of all, by QR id, by principal). BenchmarkAppendAccess,
// batches of 256 by one principal: redis-server CPU 13.0 → 4.2 µs per access, the
// gateway's 5.7 → 2.8 µs; batches of 1,024 by 64 principals: 12.6 → 4.5 and 6.5 → 3.2 µs.
// Ids are drawn before the pipeline, so the client's retry after a lost reply writes the
// same members and chunks, and appends the same entries again, which readers read once: an
// access is logged once.
//
// The whole log and a principal's are read newest first by merging chunks, window by window
// (a chunk's accesses all sort before the end of its window, which bounds what an unread
// chunk may hold), with the per-access members of earlier versions; every access has a key
// that starts with its stamp, and the page token is the last key returned. See
// accessLogMerged.
//
// Stored format: accesses written by earlier versions (per-access members "a|", "u|", "q|",
// with the access or naming a record in lt:{bN}:acc) are read with the new ones. Earlier
// versions do not read chunks: a gateway built before them lists the accesses written
// since only by QR id, and a gateway built before the QR ids' access keys does not read
// them (it lists the accesses written since only in the whole log and by principal), so
// upgrade every replica sharing a Redis together (as for the compact identities).
// TestPreviousQRIDAccessMembersAreRead reads members as the version before the access keys
// wrote them. Purge leaves the access log as it always has.
//
// # Leases, failures, operating
//
// Leases keep their holder and expiry (from Options.Now, so tests drive time) in a hash and
// their fencing token in a key of its own that never expires, in one slot with the
// partner's cursor: SaveCursor compares the fence and stores the cursor in one script.
//
// Failures of Redis (refused, timeouts, CLUSTERDOWN, LOADING, ...) are errs.Transient.
//
// Operating it: the store is the system of record, so run Redis with
// maxmemory-policy noeviction (an evicting policy would drop declarations silently) and with
// the append-only file on; keep set-max-intset-entries at its default (512) or above.
package redisstore
