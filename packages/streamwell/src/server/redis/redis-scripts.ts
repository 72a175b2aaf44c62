/**
 * The Lua scripts of the Redis run store. Each runs atomically on the Redis server, which is what
 * makes the cross-instance rules hold without locks:
 *
 * - an append is refused unless the caller still holds the run's lease (a paused producer whose
 *   lease lapsed cannot write after it wakes), and Redis itself refuses an entry id that is not
 *   above the stream's top (`XADD key 0-<id>`: "equal or smaller than the target stream top");
 * - "write the terminal event unless one exists" is one step, so two instances racing to end a
 *   run (the producer and a reader that saw its lease lapse) write exactly one terminal event.
 *
 * Every key a script touches carries the run's hash tag (`{<streamId>}`), so each script stays in
 * one Redis Cluster slot.
 *
 * @module
 * @internal
 */

/**
 * Creates a run: its metadata hash and the producer's lease.
 * KEYS: meta, lease. ARGV: instance, leaseMs, ttlMs, owner ('' none, else '=' + id), threadId, createdAt.
 * Returns 1, or 0 when the run already exists.
 */
export const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'running', 'instance', ARGV[1], 'owner', ARGV[4], 'thread', ARGV[5], 'created', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`;

/**
 * Appends a batch of events, fenced by the lease.
 * KEYS: events, lease. ARGV: instance, ttlMs, then (id, event, json) triples.
 * Returns 1, or 0 when the caller does not hold the lease (nothing was written).
 */
export const APPEND_SCRIPT = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
for i = 3, #ARGV, 3 do
  redis.call('XADD', KEYS[1], '0-' .. ARGV[i], 'e', ARGV[i + 1], 'd', ARGV[i + 2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * Writes the terminal event unless the run already has one.
 * KEYS: events, meta, lease. ARGV: requester instance, event, json, retentionMs, status, outcome,
 * tokens, textLength, id ('' = the id after the stream's top: a takeover by another instance).
 * The producer may finalize while it holds the lease or after it lapsed; any other instance only
 * after it lapsed. A takeover counts the tokens that reached the stream (textLength then counts
 * UTF-8 bytes: the script cannot count UTF-16 units).
 * Returns {1, id} when written, else {0, reason}: 'missing', 'alive' or the status already final.
 */
export const FINALIZE_SCRIPT = `
local status = redis.call('HGET', KEYS[2], 'status')
if not status then return {0, 'missing'} end
if status ~= 'running' then return {0, status} end
local lease = redis.call('GET', KEYS[3])
if lease and lease ~= ARGV[1] then return {0, 'alive'} end
local id = tonumber(ARGV[9])
local tokens = ARGV[7]
local textLength = ARGV[8]
if not id then
  local top = 0
  local count = 0
  local length = 0
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
    top = tonumber(string.sub(entry[1], 3))
    local fields = entry[2]
    if fields[2] == 'token' then
      count = count + 1
      local ok, data = pcall(cjson.decode, fields[4])
      if ok and type(data) == 'table' and type(data.token) == 'string' then length = length + #data.token end
    end
  end
  id = top + 1
  tokens = count
  textLength = length
end
redis.call('XADD', KEYS[1], '0-' .. id, 'e', ARGV[2], 'd', ARGV[3])
redis.call('HSET', KEYS[2], 'status', ARGV[5], 'outcome', ARGV[6], 'tokens', tokens, 'textLength', textLength, 'last', id)
redis.call('DEL', KEYS[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {1, id}
`;

/**
 * Extends the lease while the caller holds it.
 * KEYS: lease. ARGV: instance, leaseMs. Returns 1, or 0 when the lease is lost.
 */
export const REFRESH_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;
