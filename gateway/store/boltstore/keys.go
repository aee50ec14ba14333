package boltstore

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// timeKeyLen is the length of an encoded time: seconds (offset so that times before 1970 sort
// first) then nanoseconds, both big-endian.
const timeKeyLen = 12

func appendTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func parseTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// recordKey encodes a record key with length prefixes, so no separator can be forged by the
// ids a partner sends.
func recordKey(k store.RecordKey) []byte {
	b := make([]byte, 0, len(k.Platform)+len(k.RecordID)+len(k.Version)+6)
	for _, s := range [...]string{string(k.Platform), k.RecordID, k.Version} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// identityPrefix is a QR id (or a field name) followed by NUL: the prefix of its keys in
// identities (and inconsistentByField). QR ids hold no NUL byte.
func identityPrefix(qrid string) []byte {
	b := make([]byte, 0, len(qrid)+1)
	return append(append(b, qrid...), 0)
}

// The tags that follow an identity's prefix in the identities bucket: its aliases and its
// history. Its view is under the bare QR id.
const (
	tagAliasOf = 'a'
	tagHistory = 'h'
)

// tagged returns the prefix of an identity's keys with the tag, with room for rest bytes.
func tagged(qrid string, tag byte, rest int) []byte {
	b := make([]byte, 0, len(qrid)+2+rest)
	return append(append(append(b, qrid...), 0), tag)
}

// aliasOfKey files the weak QR id under its identity.
func aliasOfKey(qrid, weak string) []byte {
	return append(tagged(qrid, tagAliasOf, len(weak)), weak...)
}

// isQRIDKey reports whether qrid can be a key of the identities bucket's views: a QR id
// with a NUL byte would name another key.
func isQRIDKey(qrid string) bool { return strings.IndexByte(qrid, 0) < 0 }

// historyKey orders an identity's versions by declared time, then record key (which makes
// it unique); its value is empty. Builds before it wrote legacyHistoryKey, with the record
// key as the value; readers take both (historyRecord).
func historyKey(qrid string, d *canonical.Declaration, rec []byte) []byte {
	b := tagged(qrid, tagHistory, timeKeyLen+len(rec))
	return append(appendTime(b, d.DeclaredAt), rec...)
}

// legacyHistoryKey is the history key of builds before historyKey: declared time, version,
// platform and record id (each NUL-terminated), then the record key. Purge still deletes it.
func legacyHistoryKey(qrid string, d *canonical.Declaration, rec []byte) []byte {
	src := &d.Source
	b := tagged(qrid, tagHistory, timeKeyLen+len(src.Version)+len(src.Platform)+len(src.RecordID)+3+len(rec))
	b = appendTime(b, d.DeclaredAt)
	for _, s := range [...]string{src.Version, string(src.Platform), src.RecordID} {
		b = append(append(b, s...), 0)
	}
	return append(b, rec...)
}

// historyRecord returns the record key of a history entry (k, v) of the identity whose
// history keys start with prefix: the value of a legacy entry, the end of the key of one
// written by historyKey. Nil when the key is too short to be either.
func historyRecord(prefix, k, v []byte) []byte {
	if len(v) > 0 {
		return v
	}
	if len(k) <= len(prefix)+timeKeyLen {
		return nil
	}
	return k[len(prefix)+timeKeyLen:]
}

// timedKey is a time followed by a record key (versionsByTime, rejectionsByTime).
func timedKey(t time.Time, rec []byte) []byte {
	return append(appendTime(make([]byte, 0, timeKeyLen+len(rec)), t), rec...)
}

// purgeSpan is the span of declared times whose versions share a run of versionsByHour keys.
const purgeSpan = time.Hour

// hourKey files a version for purge (versionsByHour): the start of its declared hour, then its
// record key; the value is the declared time itself. Within an hour the keys follow the record
// keys, which grow as a platform numbers its records, so a stream of declarations writes
// versionsByHour at the end of each hour's run even when their declared times come in no
// order (a backlog, or several streams at once), where a key by exact time put each one on a
// random page.
func hourKey(t time.Time, rec []byte) []byte {
	return timedKey(t.Truncate(purgeSpan), rec)
}

// Page tokens are opaque to callers: the last key returned, base64url.
func encodeToken(key []byte) string { return base64.RawURLEncoding.EncodeToString(key) }

func decodeToken(op, token string) ([]byte, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 {
		return nil, errs.Errorf(errs.Invalid, op, "page_token: not a token this store issued")
	}
	return b, nil
}
