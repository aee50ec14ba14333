package redisstore

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts. Each touches the keys of one hash tag only, so it is atomic in one slot
// of a cluster. Stored views start with "V<revision>.<generation>\n" (or are "A<qrid>" for an
// alias), so a script compares tokens without decoding the view. Numbers that may exceed 2^53 (times
// in nanoseconds) stay strings in Lua and are compared by length, then lexically.

// The compare-and-set prologue of the identity scripts: {1} when the view's token is not the
// expected one, {2, target} when the identity has become an alias of target.
const casPrologue = `
local cur = redis.call('GET', KEYS[1])
local tok = '0'
if cur then
  if string.byte(cur, 1) == 65 then return {2, string.sub(cur, 2)} end
  tok = string.match(cur, '^V([%d.]+)\n')
end
if tok ~= ARGV[1] then return {1} end
`

// writeScript stores one identity's view and versions, counts its new declarations and
// updates the indexes, if the view's token is still the one the caller read.
//
// KEYS: view, versions, counters, inconsistency index, oldest index.
// ARGV: expected token, view (with the versions), "1" to delete the versions key (the
// identity was stored in the form of earlier versions, with its versions there) or "",
// oldest score ("" leaves the index as it is), qrid, counter count, index removal count,
// then counter cells, removed index members, added index members.
//
// The caller leaves out what would change nothing: the delete of a versions key that
// cannot exist, and the oldest score when no version older than the stored ones is added
// (the identity's first write put it in the index). Each is a command less for Redis:
// BenchmarkWriteBatch500Updates.
var writeScript = redis.NewScript(casPrologue + `
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('DEL', KEYS[2]) end
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[5], 'LT', ARGV[4], ARGV[5]) end
local nc, nr = tonumber(ARGV[6]), tonumber(ARGV[7])
local i = 8
for j = 1, nc do
  redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
  i = i + 1
end
for j = 1, nr do
  redis.call('ZREM', KEYS[4], ARGV[i])
  i = i + 1
end
while i <= #ARGV do
  redis.call('ZADD', KEYS[4], 0, ARGV[i])
  i = i + 1
end
return {0}
`)

// aliasScript turns an identity into an alias of another once its data has been copied
// there: if the view's token is unchanged, it replaces the view with "A<target>" and deletes
// the versions and index entries.
//
// KEYS: view, versions, inconsistency index, oldest index.
// ARGV: expected token, target, qrid, index members to remove...
var aliasScript = redis.NewScript(casPrologue + `
redis.call('SET', KEYS[1], 'A' .. ARGV[2])
redis.call('DEL', KEYS[2])
for i = 4, #ARGV do redis.call('ZREM', KEYS[3], ARGV[i]) end
redis.call('ZREM', KEYS[4], ARGV[3])
return {0}
`)

// rejectScript stores one rejection once. Returns 0 when stored, 1 for a duplicate.
//
// A record key stored as accepted (its marker is in the seen set) is a duplicate too.
//
// KEYS: rejections, rejection index, counters, seen set. ARGV: record field, value, seen
// member, index count, then index members and counter cells.
var rejectScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[4], ARGV[3]) == 1 then return 1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 1 end
local n = tonumber(ARGV[4])
for i = 5, 4 + n do redis.call('ZADD', KEYS[2], 0, ARGV[i]) end
for i = 5 + n, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
return 0
`)

// passageScript records one passage once. Returns 0 when stored, 1 for a duplicate.
// KEYS: passages, counters. ARGV: passage id, counter cell.
var passageScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], '') == 0 then return 1 end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return 0
`)

// leaseScript takes or renews a lease. Times are nanosecond strings.
// KEYS: lease, token. ARGV: holder, now, expires.
// Returns {held (0/1), holder, token, expires}.
var leaseScript = redis.NewScript(`
local function after(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local h = redis.call('HMGET', KEYS[1], 'h', 'e')
local tok = redis.call('GET', KEYS[2]) or '0'
if h[1] and h[2] and after(h[2], ARGV[2]) then
  if h[1] ~= ARGV[1] then return {0, h[1], tok, h[2]} end
  redis.call('HSET', KEYS[1], 'e', ARGV[3])
  return {1, ARGV[1], tok, ARGV[3]}
end
tok = tostring(redis.call('INCR', KEYS[2]))
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'e', ARGV[3])
return {1, ARGV[1], tok, ARGV[3]}
`)

// releaseScript gives a lease up if holder has it. KEYS: lease. ARGV: holder.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// cursorScript stores a cursor if the fence is the lease's current token.
// KEYS: token, cursor. ARGV: fence, cursor. Returns 1 when stored, 0 for a stale fence.
var cursorScript = redis.NewScript(`
local tok = redis.call('GET', KEYS[1])
if not tok or tok ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`)

// purgeScript rewrites an identity without its purged versions, if its token is unchanged.
// KEYS: view, versions, inconsistency index, oldest index.
// ARGV: expected token, view ("" deletes the identity), versions ("" deletes the versions
// key), qrid, oldest score ("" to remove), index removal count, then removed and added index
// members.
var purgeScript = redis.NewScript(casPrologue + `
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[1], ARGV[2])
  if ARGV[3] == '' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], ARGV[3]) end
end
if ARGV[5] == '' then redis.call('ZREM', KEYS[4], ARGV[4]) else redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4]) end
local nr = tonumber(ARGV[6])
local i = 7
for j = 1, nr do
  redis.call('ZREM', KEYS[3], ARGV[i])
  i = i + 1
end
while i <= #ARGV do
  redis.call('ZADD', KEYS[3], 0, ARGV[i])
  i = i + 1
end
return {0}
`)

// dropScript deletes one rejection and its index entries. KEYS: rejections, index.
// ARGV: field, index members...
var dropScript = redis.NewScript(`
local n = redis.call('HDEL', KEYS[1], ARGV[1])
for i = 2, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
return n
`)

// subjectScript keeps a subject's index entry on its newest declaration: it stores the value
// (4 bytes of declared time, then the record's 8-byte hash) unless the entry's time is later,
// compared bytewise (equal times: the one written last). Idempotent.
// KEYS: index hash. ARGV: field, value.
var subjectScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and #cur == 12 then
  for i = 1, 4 do
    local a, b = string.byte(cur, i), string.byte(ARGV[2], i)
    if a > b then return 0 end
    if a < b then break end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// unindexScript deletes an index entry if its value, from byte skip+1 on, is ARGV[2]: a
// record's entry naming a QR id (skip 0), a subject's pointing at a record (skip 4).
// KEYS: index hash. ARGV: field, value, skip.
var unindexScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.sub(cur, tonumber(ARGV[3]) + 1) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`)

// allScripts are loaded at Open.
var allScripts = []*redis.Script{writeScript, aliasScript, rejectScript, passageScript,
	leaseScript, releaseScript, cursorScript, purgeScript, dropScript, subjectScript, unindexScript}

// scriptCall is one script run prepared for a pipeline.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// runScripts runs calls in one pipeline by EVALSHA. Calls whose script is not in the server's
// cache (after a restart, a failover or SCRIPT FLUSH) run again by EVAL, which loads it. The
// error of each call is left on its cmd.
//
// before, if given, queues plain commands ahead of the scripts in the same pipeline.
func runScripts(ctx context.Context, c redis.UniversalClient, calls []*scriptCall, before ...func(redis.Pipeliner)) {
	pipe := c.Pipeline()
	for _, f := range before {
		f(pipe)
	}
	if len(calls) == 0 && pipe.Len() == 0 {
		return
	}
	for _, sc := range calls {
		sc.cmd = sc.script.EvalSha(ctx, pipe, sc.keys, sc.args...)
	}
	_, _ = pipe.Exec(ctx)
	var again []*scriptCall
	for _, sc := range calls {
		if err := sc.cmd.Err(); err != nil && isNoScript(err) {
			again = append(again, sc)
		}
	}
	if len(again) == 0 {
		return
	}
	pipe = c.Pipeline()
	for _, sc := range again {
		sc.cmd = sc.script.Eval(ctx, pipe, sc.keys, sc.args...)
	}
	_, _ = pipe.Exec(ctx)
}

func isNoScript(err error) bool {
	return strings.HasPrefix(err.Error(), "NOSCRIPT") || strings.Contains(err.Error(), "NOSCRIPT")
}
