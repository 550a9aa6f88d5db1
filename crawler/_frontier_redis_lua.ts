// The Redis frontier's operations as one Lua script: Redis runs a script
// atomically (no other command runs in between), so each step of each
// process is one transaction on the server, as in SQLite, without
// client-side locks. It is the algorithm of _frontier_core.ts, key for key:
//
//   P = "dmp-crawl:{JOB}:" (JOB percent-encoded; the braces keep a crawl's
//   keys in one hash slot)
//   P.."seen"           SET   every URL ever added
//   P.."q:"..HOST       ZSET  pages queued on HOST, scored by ready time (ms)
//   P.."r:"..HOST       ZSET  robots.txt jobs queued on HOST
//   P.."job"            HASH  key -> job (JSON), while queued or leased
//   P.."host:"..HOST    HASH  active, nextAt, crawlDelay, pending
//   P.."ready"          ZSET  hosts that may be asked, scored by when
//   P.."lease"          HASH  key -> "TOKEN\nHOST"
//   P.."leases:"..TOKEN SET   the keys a run holds
//   P.."origin"         HASH  origin -> verdict (JSON), "" while pending
//   P.."counts"         HASH  the whole crawl's counters
//   P.."runs"           ZSET  run token -> lease expiry (server time, ms)
//   P.."run:"..TOKEN    HASH  machine, hostname, pid, started, writer, lastStep, lastResult
//   P.."writer:"..NAME  HASH  token, adoptable, seq, acked, checkpoint
//   P.."outbox:"..NAME  LIST  records committed, not acknowledged (seq acked+1 first)
//   P.."orphans"        SET   anonymous writers whose run is gone
//   P.."writers"        SET   named writers (outputs)
//
// Time is the server's (TIME), so the processes of several machines agree.
// A step carries an id: a step sent again after a lost connection (it may
// have run, its reply lost) returns the first reply instead of running twice.

/** The script: KEYS[1] is the prefix, ARGV[1] the operation, ARGV[2] its JSON argument. */
export const FRONTIER_LUA = `
local P = KEYS[1]
local op = ARGV[1]
local req = cjson.decode(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cfg = req.config or {}
local token = req.token
local touched = {}
local dup = 0

local function num(v) return tonumber(v) or 0 end
local function count(k, n) if n ~= 0 then redis.call('HINCRBY', P .. 'counts', k, n) end end
local function touch(h) touched[h] = true end

local function host_row(h)
  local v = redis.call('HMGET', P .. 'host:' .. h, 'active', 'nextAt', 'crawlDelay', 'pending')
  return { active = num(v[1]), nextAt = num(v[2]), crawlDelay = num(v[3]), pending = num(v[4]) }
end

local function head_at(h, robots)
  local z = redis.call('ZRANGE', P .. (robots and 'r:' or 'q:') .. h, 0, 0, 'WITHSCORES')
  if #z == 0 then return nil end
  return tonumber(z[2])
end

-- A host's place in the ready set: when it may be asked, or out of it.
local function refresh(h)
  local r = host_row(h)
  local at = nil
  if r.active < cfg.perHost then
    local head = head_at(h, true)
    if r.pending <= 0 then
      local pages = head_at(h, false)
      if pages ~= nil and (head == nil or pages < head) then head = pages end
    end
    if head ~= nil then at = math.max(head, r.nextAt) end
  end
  if at == nil then redis.call('ZREM', P .. 'ready', h)
  else redis.call('ZADD', P .. 'ready', at, h) end
end

-- Queues a job; a page of an origin never met first queues its robots.txt,
-- and the host's pages wait for it.
local function enqueue(key, h, origin, json, at)
  if origin and origin ~= '' and cfg.robots then
    if redis.call('HEXISTS', P .. 'origin', origin) == 0 then
      redis.call('HSET', P .. 'origin', origin, '')
      redis.call('HINCRBY', P .. 'host:' .. h, 'pending', 1)
      local rkey = 'robots ' .. origin
      redis.call('HSET', P .. 'job', rkey, cjson.encode({ kind = 'robots', origin = origin,
        hop = origin .. '/robots.txt', redirects = 0, attempt = 0 }))
      redis.call('ZADD', P .. 'r:' .. h, at, rkey)
      count('frontier:queued', 1)
    end
  end
  local robots = string.sub(key, 1, 7) == 'robots '
  redis.call('HSET', P .. 'job', key, json)
  redis.call('ZADD', P .. (robots and 'r:' or 'q:') .. h, at, key)
  count('frontier:queued', 1)
  touch(h)
end

local seen_n = num(redis.call('HGET', P .. 'counts', 'frontier:seen'))

local function add_new(e, at)
  if seen_n >= cfg.maxPages then
    if redis.call('SISMEMBER', P .. 'seen', e.k) == 1 then dup = dup + 1 end
    return
  end
  if redis.call('SADD', P .. 'seen', e.k) == 0 then dup = dup + 1; return end
  seen_n = seen_n + 1
  count('frontier:seen', 1)
  enqueue(e.k, e.h, e.o, e.j, at)
end

-- Takes back a lease of this run; nil when it is not this run's any more.
local function unlease(key)
  local l = redis.call('HGET', P .. 'lease', key)
  if not l then return nil end
  local sep = string.find(l, '\\n', 1, true)
  if string.sub(l, 1, sep - 1) ~= token then return nil end
  local h = string.sub(l, sep + 1)
  redis.call('HDEL', P .. 'lease', key)
  redis.call('SREM', P .. 'leases:' .. token, key)
  redis.call('HINCRBY', P .. 'host:' .. h, 'active', -1)
  touch(h)
  return h
end

local function deliver(writer, json)
  local seq = redis.call('HINCRBY', P .. 'writer:' .. writer, 'seq', 1)
  redis.call('RPUSH', P .. 'outbox:' .. writer, json)
  return seq
end

-- A run is gone: its jobs go back to their queues, its writer is freed
-- (an anonymous one becomes an orphan, adopted by the next run that looks).
local function release_run(tk)
  for _, key in ipairs(redis.call('SMEMBERS', P .. 'leases:' .. tk)) do
    local l = redis.call('HGET', P .. 'lease', key)
    if l then
      local h = string.sub(l, string.find(l, '\\n', 1, true) + 1)
      redis.call('HDEL', P .. 'lease', key)
      redis.call('HINCRBY', P .. 'host:' .. h, 'active', -1)
      enqueue(key, h, nil, redis.call('HGET', P .. 'job', key), now)
    end
  end
  redis.call('DEL', P .. 'leases:' .. tk)
  local w = redis.call('HGET', P .. 'run:' .. tk, 'writer')
  if w then
    local wk = P .. 'writer:' .. w
    if redis.call('HGET', wk, 'token') == tk then
      local adoptable = redis.call('HGET', wk, 'adoptable') == '1'
      if adoptable and redis.call('LLEN', P .. 'outbox:' .. w) == 0 then
        redis.call('DEL', wk)
      else
        redis.call('HSET', wk, 'token', '')
        if adoptable then redis.call('SADD', P .. 'orphans', w) end
      end
    end
  end
  redis.call('DEL', P .. 'run:' .. tk)
  redis.call('ZREM', P .. 'runs', tk)
end

local function adopt(writer, into)
  for _, w in ipairs(redis.call('SMEMBERS', P .. 'orphans')) do
    for _, json in ipairs(redis.call('LRANGE', P .. 'outbox:' .. w, 0, -1)) do
      table.insert(into, { deliver(writer, json), json })
    end
    redis.call('DEL', P .. 'outbox:' .. w, P .. 'writer:' .. w)
    redis.call('SREM', P .. 'orphans', w)
  end
end

local function reap()
  local reaped = false
  for _, tk in ipairs(redis.call('ZRANGEBYSCORE', P .. 'runs', '-inf', '(' .. now)) do
    if tk ~= token then release_run(tk); reaped = true end
  end
  return reaped
end

local function refresh_touched()
  for h, _ in pairs(touched) do refresh(h) end
  touched = {}
end

local function take()
  for _ = 1, 100000 do
    local first = redis.call('ZRANGE', P .. 'ready', 0, 0, 'WITHSCORES')
    if #first == 0 or tonumber(first[2]) > now then return nil end
    local h = first[1]
    local r = host_row(h)
    local key, robots = nil, false
    local rb = head_at(h, true)
    if rb ~= nil and rb <= now then
      key = redis.call('ZRANGE', P .. 'r:' .. h, 0, 0)[1]
      robots = true
    elseif r.pending <= 0 then
      local pg = head_at(h, false)
      if pg ~= nil and pg <= now then key = redis.call('ZRANGE', P .. 'q:' .. h, 0, 0)[1] end
    end
    if key == nil then
      refresh(h) -- a stale score: put the host where it belongs, look again
    else
      redis.call('ZREM', P .. (robots and 'r:' or 'q:') .. h, key)
      redis.call('HSET', P .. 'lease', key, token .. '\\n' .. h)
      redis.call('SADD', P .. 'leases:' .. token, key)
      redis.call('HSET', P .. 'host:' .. h, 'active', r.active + 1,
        'nextAt', now + math.max(cfg.delayMs, r.crawlDelay))
      count('frontier:queued', -1)
      refresh(h)
      return redis.call('HGET', P .. 'job', key)
    end
  end
  return nil
end

if op == 'open' then
  reap()
  for _, tk in ipairs(req.dead) do
    if tk ~= token and redis.call('EXISTS', P .. 'run:' .. tk) == 1 then release_run(tk) end
  end
  refresh_touched()
  local result = { redeliver = {} }
  local writer = req.writer
  if writer then
    local wk = P .. 'writer:' .. writer
    local holder = redis.call('HGET', wk, 'token')
    if holder and holder ~= '' and redis.call('EXISTS', P .. 'run:' .. holder) == 1 then
      local run = redis.call('HMGET', P .. 'run:' .. holder, 'pid', 'hostname')
      return cjson.encode({ busy = 'pid ' .. tostring(run[1]) .. ' on ' .. tostring(run[2]) })
    end
    if redis.call('EXISTS', wk) == 0 then
      redis.call('HSET', wk, 'adoptable', '0', 'seq', 0, 'acked', 0, 'checkpoint', -1)
    end
    redis.call('HSET', wk, 'token', token)
    redis.call('SADD', P .. 'writers', writer)
    local acked = num(redis.call('HGET', wk, 'acked'))
    for i, json in ipairs(redis.call('LRANGE', P .. 'outbox:' .. writer, 0, -1)) do
      table.insert(result.redeliver, { acked + i, json })
    end
    result.checkpoint = num(redis.call('HGET', wk, 'checkpoint'))
  else
    writer = 'run ' .. token
    redis.call('HSET', P .. 'writer:' .. writer, 'token', token, 'adoptable', '1', 'seq', 0,
      'acked', 0, 'checkpoint', -1)
  end
  local id = req.identity
  redis.call('HSET', P .. 'run:' .. token, 'machine', id.machine, 'hostname', id.hostname,
    'pid', id.pid, 'started', id.started, 'writer', writer, 'lastStep', '')
  redis.call('ZADD', P .. 'runs', now + cfg.leaseMs, token)
  adopt(writer, result.redeliver)
  result.writer = writer
  -- Other outputs no run holds, with records committed for them and not written.
  result.waiting = {}
  for _, w in ipairs(redis.call('SMEMBERS', P .. 'writers')) do
    local holder = redis.call('HGET', P .. 'writer:' .. w, 'token')
    local n = redis.call('LLEN', P .. 'outbox:' .. w)
    if w ~= writer and (not holder or holder == '') and n > 0 then
      table.insert(result.waiting, { w, n })
    end
  end
  return cjson.encode(result)
end

if op == 'close' then
  if redis.call('EXISTS', P .. 'run:' .. token) == 1 then release_run(token) end
  refresh_touched()
  return '{}'
end

if op == 'fresh' then
  -- Refuses while a run of the crawl is alive (its lease not run out).
  local live = redis.call('ZRANGEBYSCORE', P .. 'runs', now, '+inf')
  local others = {}
  for _, tk in ipairs(live) do
    local dead = false
    for _, d in ipairs(req.dead) do if d == tk then dead = true end end
    if not dead then table.insert(others, tostring(redis.call('HGET', P .. 'run:' .. tk, 'pid'))) end
  end
  return cjson.encode({ live = others })
end

-- op == 'step'
local runKey = P .. 'run:' .. token
if redis.call('EXISTS', runKey) == 0 then return cjson.encode({ lost = true }) end
if redis.call('HGET', runKey, 'lastStep') == req.id then
  return redis.call('HGET', runKey, 'lastResult')
end
redis.call('ZADD', P .. 'runs', now + cfg.leaseMs, token)
local writer = req.writer
local result = { done = {}, taken = {}, adopted = {} }
if reap() then adopt(writer, result.adopted) end
for _, e in ipairs(req.add) do add_new(e, now) end
for i, d in ipairs(req.done) do
  if not unlease(d.k) then
    result.done[i] = { 0, {} }
  else
    redis.call('HDEL', P .. 'job', d.k)
    local seq = -1
    if d.r then
      seq = deliver(writer, d.r)
      for _, c in ipairs(d.c) do count(c[1], c[2]) end
    end
    for _, e in ipairs(d.links) do add_new(e, now) end
    local blocked = {}
    for j, b in ipairs(d.blocked) do
      if seen_n >= cfg.maxPages or redis.call('SADD', P .. 'seen', b.u) == 0 then
        dup = dup + 1
        blocked[j] = 0
      else
        seen_n = seen_n + 1
        count('frontier:seen', 1)
        for _, c in ipairs(b.c) do count(c[1], c[2]) end
        blocked[j] = deliver(writer, b.r)
      end
    end
    if d.robots then
      local ro = d.robots
      if redis.call('HGET', P .. 'origin', ro.origin) == '' then
        local hk = P .. 'host:' .. ro.host
        redis.call('HINCRBY', hk, 'pending', -1)
        if ro.delay > num(redis.call('HGET', hk, 'crawlDelay')) then
          redis.call('HSET', hk, 'crawlDelay', ro.delay)
        end
        touch(ro.host)
      end
      redis.call('HSET', P .. 'origin', ro.origin, ro.verdict)
    end
    result.done[i] = { seq, blocked }
  end
end
for _, r in ipairs(req.requeue) do
  if unlease(r.k) then
    if r.retry then count('retries', 1) end
    enqueue(r.k, r.h, r.o, r.j, now + r.delay)
  end
end
for _, key in ipairs(req.release) do
  local h = unlease(key)
  if h then enqueue(key, h, nil, redis.call('HGET', P .. 'job', key), now) end
end
if req.ack then
  local wk = P .. 'writer:' .. writer
  local acked = num(redis.call('HGET', wk, 'acked'))
  if req.ack.seq > acked then
    redis.call('LTRIM', P .. 'outbox:' .. writer, req.ack.seq - acked, -1)
    redis.call('HSET', wk, 'acked', req.ack.seq)
  end
  if req.ack.checkpoint then redis.call('HSET', wk, 'checkpoint', req.ack.checkpoint) end
end
refresh_touched()
for _ = 1, req.take do
  local job = take()
  if not job then break end
  table.insert(result.taken, job)
end
local first = redis.call('ZRANGE', P .. 'ready', 0, 0, 'WITHSCORES')
if #first > 0 then result.wait = math.max(0, tonumber(first[2]) - now) end
result.queued = num(redis.call('HGET', P .. 'counts', 'frontier:queued'))
result.leased = redis.call('HLEN', P .. 'lease')
if dup > 0 then count('duplicates', dup) end
result.dup = dup
local encoded = cjson.encode(result)
redis.call('HSET', runKey, 'lastStep', req.id, 'lastResult', encoded)
return encoded
`;
