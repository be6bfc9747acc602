/**
 * The Lua scripts of the Redis limiter: a user's turn (settle, then admit) and a read of the state,
 * each one atomic round trip.
 *
 * Every script takes the same five KEYS, all in one user's hash tag (so they live in one Redis
 * Cluster slot): the four window hashes in WINDOWS order, each {i: bucket index, p: previous
 * bucket, c: current bucket}, then the slots sorted set (slot id scored by its expiry time).
 * ARGV[1] is the caller's time in ms, or "" to use the Redis server's TIME (Redis >= 5 replicates
 * script effects, so reading TIME before writing is allowed).
 * The arithmetic repeats sliding.ts (rollTo, usedAt, the rounding of passes) operation by operation.
 */

import { LEASE_MIN, LEASE_SHARE } from "./lease.ts";
import { CHECK_ORDER, WINDOWS, type WindowSpec } from "./windows.ts";

/** 1-based Lua indexes of the windows that match. */
function luaIndexes(match: (w: WindowSpec) => boolean): string {
  return WINDOWS.flatMap((w, i) => (match(w) ? [i + 1] : [])).join(", ");
}

const PRELUDE = `
local SIZE = {${WINDOWS.map((w) => w.ms).join(", ")}}

local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Window w's buckets rolled forward to now: index, previous, current, and whether the stored
-- index differs (a new bucket, or no key).
local function read(w, now)
  local idx = math.floor(now / SIZE[w])
  local v = redis.call('HMGET', KEYS[w], 'i', 'p', 'c')
  local i = tonumber(v[1])
  if i == nil or i < idx - 1 then return idx, 0, 0, true end
  if i == idx - 1 then return idx, tonumber(v[3]), 0, true end
  return i, tonumber(v[2]), tonumber(v[3]), false
end

-- b: {i, p, c, new bucket}. A key needs to outlive only its current bucket and the next one, so
-- its expiry is set when it starts a bucket (2 windows from then) and not on every write.
local function write(w, b)
  redis.call('HSET', KEYS[w], 'i', b[1], 'p', b[2], 'c', b[3])
  if b[4] then redis.call('PEXPIRE', KEYS[w], 2 * SIZE[w]) end
end
`;

/**
 * One turn of one user: settles the finished requests of a batch and what this gateway's lease
 * hands back, then admits the batch's new requests, in order, each all-or-nothing as if called
 * alone, then may grant a new lease (lease.ts). Settling first is one order the requests could
 * have arrived in, since every one of the batch was still unanswered when it was sent.
 * ARGV: now, slot ttl ms, the four window limits, the concurrency limit (-1: none); the lease:
 * the time its unused charges were made, how many come back, its pool's member prefix, pool size
 * held, pool size wanted, 1 to re-score the pool's expiry, admissions wanted ahead (0: no new
 * lease); the number of settlements, then per settlement its slot id ("" when none was taken) and
 * its tokens, then one slot id per admission ("" when no concurrency limit).
 * Releasing a slot is idempotent; tokens add to every limited token window. Unused charges come
 * off the bucket they were made in (the current one, or the previous once it has rolled).
 * A lease is granted only when the whole batch passed: at most an eighth of what every request
 * window has left and of the free concurrency, so that other gateways keep most of the room, and
 * none below LEASE_MIN admissions (a small limit is decided request by request).
 * Reply (only when the batch admits): now, then i, p, c per window after the settlements, the
 * admissions charged ahead, the pool size (ADMIT_HEAD_SIZE values), then per admission {failed
 * (0, or the refusing KINDS index + 1), in flight after it}. Each admission adds one to the
 * current bucket of every limited request window and changes nothing else, so the state right
 * after each one follows from the head and the admissions before it.
 */
export const TURN = `${PRELUDE}
local TOKENS = {${WINDOWS.map((w) => String(w.tokens)).join(", ")}}
local CHECK = {${CHECK_ORDER.map((i) => i + 1).join(", ")}}
local REQUESTS = {${luaIndexes((w) => !w.tokens)}}
local TOKEN_WINDOWS = {${luaIndexes((w) => w.tokens)}}
local SHARE = ${LEASE_SHARE}
local function usedOf(w, i, p, c, now)
  local at = math.max(now, i * SIZE[w])
  local idx = math.floor(at / SIZE[w])
  return p * (1 - (at - idx * SIZE[w]) / SIZE[w]) + c
end
local function passes(w, i, p, c, now, limit)
  local used = usedOf(w, i, p, c, now)
  if TOKENS[w] then return math.floor(used) < limit end
  return math.ceil(used) < limit
end

local now = clock(ARGV[1])
local ttl = tonumber(ARGV[2])
local limit = {}
for w = 1, 5 do limit[w] = tonumber(ARGV[2 + w]) end
local leaseAt = tonumber(ARGV[8])
local returned = tonumber(ARGV[9])
local pool = ARGV[10]
local held = tonumber(ARGV[11])
local target = tonumber(ARGV[12])
local refresh = ARGV[13] == '1'
local want = tonumber(ARGV[14])
local settled = tonumber(ARGV[15])
local first = 16 + 2 * settled
local admitting = #ARGV >= first

local b = {}
local function load(w)
  if b[w] == nil then b[w] = {read(w, now)} end
end

local released = {}
local tokens = 0
for n = 16, first - 1, 2 do
  if ARGV[n] ~= '' then released[#released + 1] = ARGV[n] end
  tokens = tokens + tonumber(ARGV[n + 1])
end
if target < held then
  for k = target + 1, held do released[#released + 1] = pool .. k end
  held = target
end
if #released > 0 then redis.call('ZREM', KEYS[5], unpack(released)) end
if tokens > 0 then
  for _, w in ipairs(TOKEN_WINDOWS) do
    if limit[w] >= 0 then
      load(w)
      b[w][3] = b[w][3] + tokens
      write(w, b[w])
    end
  end
end
if returned > 0 then
  for _, w in ipairs(REQUESTS) do
    if limit[w] >= 0 then
      load(w)
      local idx = math.floor(leaseAt / SIZE[w])
      if b[w][1] == idx then b[w][3] = math.max(0, b[w][3] - returned)
      elseif b[w][1] == idx + 1 then b[w][2] = math.max(0, b[w][2] - returned) end
      write(w, b[w])
    end
  end
end
local function rescore(from, to)
  local members = {}
  for k = from, to do
    members[#members + 1] = now + ttl
    members[#members + 1] = pool .. k
  end
  if #members > 0 then
    redis.call('ZADD', KEYS[5], unpack(members))
    redis.call('PEXPIRE', KEYS[5], ttl)
  end
end
if not admitting then
  if refresh then rescore(1, held) end
  return 0
end

for w = 1, 4 do
  if limit[w] >= 0 then load(w) else b[w] = {0, 0, 0} end
end
local inflight = 0
if limit[5] >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
  inflight = redis.call('ZCARD', KEYS[5])
end

local reply = {now}
for w = 1, 4 do
  for k = 1, 3 do reply[#reply + 1] = b[w][k] end
end
local head = #reply
reply[head + 1] = 0
reply[head + 2] = held
local admitted = 0
-- One ZADD for the batch: score, member pairs.
local slots = {}
for n = first, #ARGV do
  local failed = 0
  if limit[5] >= 0 and inflight >= limit[5] then failed = 5 end
  if failed == 0 then
    for _, w in ipairs(CHECK) do
      if limit[w] >= 0 and not passes(w, b[w][1], b[w][2], b[w][3], now, limit[w]) then
        failed = w
        break
      end
    end
  end
  if failed == 0 then
    admitted = admitted + 1
    for _, w in ipairs(REQUESTS) do
      if limit[w] >= 0 then b[w][3] = b[w][3] + 1 end
    end
    if limit[5] >= 0 then
      slots[#slots + 1] = now + ttl
      slots[#slots + 1] = ARGV[n]
      inflight = inflight + 1
    end
  end
  reply[#reply + 1] = failed
  reply[#reply + 1] = inflight
end

-- The new lease: only after a batch that passed whole, and while the token windows have room.
local ahead = 0
local grown = held
if want > 0 and admitted == #ARGV - first + 1 then
  ahead = want
  for _, w in ipairs(TOKEN_WINDOWS) do
    if limit[w] >= 0 and not passes(w, b[w][1], b[w][2], b[w][3], now, limit[w]) then ahead = 0 end
  end
  for _, w in ipairs(REQUESTS) do
    if limit[w] >= 0 then
      local left = limit[w] - math.ceil(usedOf(w, b[w][1], b[w][2], b[w][3], now))
      ahead = math.min(ahead, math.floor(left / SHARE))
    end
  end
  if ahead < ${LEASE_MIN} then ahead = 0 end
  if limit[5] >= 0 and ahead > 0 then
    grown = held + math.max(0, math.min(target - held, math.floor((limit[5] - inflight) / SHARE)))
    if grown == 0 then ahead = 0 end
  end
  if ahead > 0 then
    for _, w in ipairs(REQUESTS) do
      if limit[w] >= 0 then b[w][3] = b[w][3] + ahead end
    end
  else
    grown = held
  end
end
reply[head + 1] = ahead
reply[head + 2] = grown

if admitted > 0 or ahead > 0 then
  for _, w in ipairs(REQUESTS) do
    if limit[w] >= 0 then write(w, b[w]) end
  end
end
if #slots > 0 then
  redis.call('ZADD', KEYS[5], unpack(slots))
  redis.call('PEXPIRE', KEYS[5], ttl)
end
-- New pool members get their expiry; a refresh gives every member a fresh one.
local from = held + 1
if refresh then from = 1 end
rescore(from, grown)
return reply
`;

/** Values before the per-admission pairs in TURN's reply: now, i, p, c per window, charged ahead, pool size. */
export const ADMIT_HEAD_SIZE = 3 + 3 * WINDOWS.length;

/**
 * ARGV: now, the four window limits, the concurrency limit (-1: none). Writes nothing.
 * Reply: {now, live slots, then i, p, c per window}.
 */
export const STATE = `${PRELUDE}
local now = clock(ARGV[1])
local reply = {now, 0}
if tonumber(ARGV[6]) >= 0 then
  reply[2] = redis.call('ZCOUNT', KEYS[5], string.format('(%d', now), '+inf')
end
for w = 1, 4 do
  local i, p, c = 0, 0, 0
  if tonumber(ARGV[1 + w]) >= 0 then i, p, c = read(w, now) end
  reply[#reply + 1] = i
  reply[#reply + 1] = p
  reply[#reply + 1] = c
end
return reply
`;
