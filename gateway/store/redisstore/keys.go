package redisstore

import (
	"hash/fnv"
	"strconv"

	"github.com/lienthong/lienthong/gateway/store"
)

// buckets is how many hash-tag buckets the keys are spread over. Every bucket is one hash
// slot, so a cluster of up to a few hundred masters still spreads them; the audit paths read
// every bucket once with a pipeline.
const buckets = 1024

// bucketOf returns the bucket of an identity (or of a rejection's record key, or a passage id).
func bucketOf(s string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int(h.Sum32() % buckets)
}

// keyspace names the keys of one store. Its namespace (Options.Namespace, "lt" by default)
// lets several deployments, or tests, share one Redis without seeing each other.
type keyspace struct {
	ns   string
	tags *[buckets]string // tags[b] is the hash-tagged prefix of bucket b: "lt:{b17}:"
}

func newKeyspace(ns string) keyspace {
	k := keyspace{ns: ns, tags: new([buckets]string)}
	for b := range k.tags {
		k.tags[b] = ns + ":{b" + strconv.Itoa(b) + "}:"
	}
	return k
}

// tag returns the hash-tagged prefix of a bucket: "lt:{b17}:" (made once: a lookup's key is
// then one concatenation).
func (k keyspace) tag(b int) string { return k.tags[b] }

// Per-identity keys (in the identity's bucket).
func (k keyspace) view(qrid string) string { return k.tag(bucketOf(qrid)) + "v:" + qrid }
func (k keyspace) decl(qrid string) string { return k.tag(bucketOf(qrid)) + "d:" + qrid }

// accessesOf is a QR id's access key: its accesses' entries, appended (appendAccessEntry).
func (k keyspace) accessesOf(qrid string) string { return k.tag(bucketOf(qrid)) + "aq:" + qrid }

// Per-bucket keys.
func (k keyspace) counters(b int) string       { return k.tag(b) + "cnt" }  // hash: counter cell → n
func (k keyspace) inconsistent(b int) string   { return k.tag(b) + "inc" }  // zset (lex): index entries of inconsistent views
func (k keyspace) oldest(b int) string         { return k.tag(b) + "old" }  // zset: qrid by its oldest stored declared time (ms)
func (k keyspace) rejections(b int) string     { return k.tag(b) + "rj" }   // hash: record key → encoded rejection
func (k keyspace) rejectionIndex(b int) string { return k.tag(b) + "rji" }  // zset (lex): rejection index entries
func (k keyspace) passages(b int) string       { return k.tag(b) + "ps" }   // hash: passage id → ""
func (k keyspace) access(b int) string         { return k.tag(b) + "acc" }  // hash: random id → encoded access
func (k keyspace) accessIndex(b int) string    { return k.tag(b) + "acci" } // zset (lex): access index entries
func (k keyspace) accessChunks(b int) string   { return k.tag(b) + "accc" } // hash: chunk id → encoded access chunk

// seen returns where the marker of an accepted record key lives, so that a rejection of the
// same record key (which carries no QR id) is recognised as a duplicate. Markers are 63-bit
// hashes of the record key in small integer sets (64 per bucket), which Redis stores as
// compact intsets (8 bytes a member) while each stays under set-max-intset-entries (512).
func (k keyspace) seen(field string) (key string, member string) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(field))
	x := h.Sum64()
	return k.tag(bucketOf(field)) + "s" + strconv.Itoa(int(x>>58)), strconv.FormatUint(x>>1, 10)
}

// Lease and cursor keys share the lease's own tag, so SaveCursor's fence check is one script.
func (k keyspace) lease(name string) string  { return k.ns + ":{l:" + name + "}:lease" } // hash: holder, expiry (Unix ns)
func (k keyspace) token(name string) string  { return k.ns + ":{l:" + name + "}:token" } // the fencing token, never expires
func (k keyspace) cursor(name string) string { return k.ns + ":{l:" + name + "}:cursor" }

// recordField is a RecordKey as one hash field or index member: the platform and the
// record id length-prefixed, then the version, so that no two keys share a field.
func recordField(k store.RecordKey) string {
	return strconv.Itoa(len(k.Platform)) + ":" + string(k.Platform) + strconv.Itoa(len(k.RecordID)) + ":" + k.RecordID + k.Version
}
