"""The Lua scripts of the Redis backplane: each one step, atomic on the server.

``PUBLISH_EVENTS`` is the heart (as in Centrifugo's Redis engine): for each event of
a batch it creates the user's epoch on first use, assigns the next seq, appends the
event to the user's capped stream, keeps the run bookkeeping that node-loss recovery
needs (open tool calls, owned runs) and publishes the event to every node that holds
a connection of the user — so two processes can never give out one seq or order
events differently.
"""

from __future__ import annotations

from typing import Final

_EPOCH_ON_FIRST_USE: Final = """
local function epoch_of(meta, log, candidate)
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    epoch = candidate
    redis.call('DEL', log)
    redis.call('HSET', meta, 'epoch', epoch, 'seq', 0, 'acked', 0)
    return epoch, true
  end
  return epoch, false
end
"""
"""Both scripts below: a log without meta starts a new epoch (the candidate)."""

ENSURE_EPOCH: Final = (
    _EPOCH_ON_FIRST_USE
    + """local epoch = epoch_of(KEYS[1], KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {epoch, redis.call('HGET', KEYS[1], 'seq')}
"""
)
"""KEYS meta, log, presence; ARGV epoch candidate, ttl, node, present until, presence ttl."""

PUBLISH_EVENTS: Final = (
    _EPOCH_ON_FIRST_USE
    + """
local function split(text)
  local fields, from = {}, 1
  while true do
    local at = string.find(text, '\t', from, true)
    if not at then
      fields[#fields + 1] = string.sub(text, from)
      return fields
    end
    fields[#fields + 1] = string.sub(text, from, at - 1)
    from = at + 1
  end
end

local done = redis.call('GET', ARGV[2])
if done then  -- a retry of a call whose reply was lost: answer it again, store nothing
  return done
end
local prefix, publisher, maxlen, ttl = unpack(split(ARGV[1]))
local users, touched, out = {}, {}, {}

local function user_of(user, stamp, candidate)
  local u = users[user]
  if u then
    return u
  end
  local base = prefix .. ':u:{' .. user .. '}:'
  u = {meta = base .. 'meta', log = base .. 'log', runs = base .. 'runs', nodes = {}}
  u.epoch, u.renew = epoch_of(u.meta, u.log, candidate)
  local presence = base .. 'presence'
  local held = redis.call('HGETALL', presence)
  for i = 1, #held, 2 do
    if tonumber(held[i + 1]) < tonumber(stamp) then
      redis.call('HDEL', presence, held[i])
    elseif held[i] ~= publisher then
      u.nodes[#u.nodes + 1] = prefix .. ':node:' .. held[i] .. ':ch'
    end
  end
  users[user] = u
  touched[#touched + 1] = u
  return u
end

local function keep_books(u, owned, kind, run, call, tool)
  local tools = prefix .. ':run:' .. run .. ':tools'
  if kind == 'agent_started' then
    redis.call('HSET', tools, '@started', '1')
    redis.call('EXPIRE', tools, ttl)  -- '@started' keeps the hash (and its TTL) to the end
    u.renew = true
  elseif kind == 'tool_executing' then
    redis.call('HSET', tools, call, tool)
  elseif kind == 'tool_completed' then
    redis.call('HDEL', tools, call)
  elseif kind == 'agent_completed' or kind == 'agent_error' or kind == 'agent_cancelled' then
    redis.call('HDEL', u.runs, run)
    redis.call('HDEL', owned, run)
    redis.call('DEL', tools)
    u.renew = true
  end
end

for i = 3, #ARGV do
  local user, owner, kind, run, call, tool, stamp, candidate, head, tail = unpack(split(ARGV[i]))
  local owned = prefix .. ':node:' .. owner .. ':runs'
  if redis.call('HEXISTS', owned, run) == 0 then
    out[#out + 1] = '0:'
  else
    local u = user_of(user, stamp, candidate)
    local seq = redis.call('HINCRBY', u.meta, 'seq', 1)
    local text = head .. seq .. ',"event_id":"' .. u.epoch .. '-' .. seq .. tail
    redis.call('XADD', u.log, 'MAXLEN', maxlen, seq .. '-1', 't', stamp, 'x', text)
    keep_books(u, owned, kind, run, call, tool)
    local msg = 'e\t' .. user .. '\t' .. u.epoch .. '\t' .. seq .. '\t' .. stamp .. '\t' .. text
    for _, channel in ipairs(u.nodes) do
      redis.call('PUBLISH', channel, msg)
    end
    out[#out + 1] = seq .. ':' .. u.epoch
  end
end
for _, u in ipairs(touched) do
  if u.renew then  -- a new log, a run's start or end (runs end within ttl)
    redis.call('EXPIRE', u.meta, ttl)
    redis.call('EXPIRE', u.log, ttl)
  end
end
local reply = table.concat(out, ' ')
redis.call('SET', ARGV[2], reply, 'EX', 120)
return reply
"""
)
"""No KEYS (names are built from the prefix as :mod:`.keys` spells them; one call
carries many users' events, so this needs a single Redis, not a Cluster).

ARGV[1] ``prefix TAB publishing node TAB maxlen TAB ttl``; ARGV[2] the call's key
(unique per call: a retried call finds its stored reply there and stores nothing
twice, so an event is stored exactly once even when a reply was lost); then one argument per
event: ``user owner type run tool_call_id tool_name timestamp epoch_candidate head
tail``, tab-separated (JSON text never holds a raw tab). Returns one string, for
each event ``seq:epoch`` (space-separated), ``0:`` for an event the fence refused:
a run its node no longer owns (ended, or declared lost and ended by another node).
The publishing node gets no pub/sub copy: it delivers from the reply.
"""

CLAIM_RUN: Final = """
local existing = redis.call('GET', KEYS[1])
if existing then
  return {'duplicate', existing}
end
local runs = redis.call('HGETALL', KEYS[2])
local live = 0
for i = 1, #runs, 2 do
  if redis.call('EXISTS', ARGV[7] .. ':node:' .. runs[i + 1] .. ':lease') == 1 then
    live = live + 1
  end
end
if live >= tonumber(ARGV[3]) then
  return {'limited'}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[6])
return {'ok'}
"""
"""KEYS message key, user runs, node runs.

ARGV "run thread", dedup window ms, runs limit, run id, node, "user thread agent msg",
key prefix. Runs of nodes whose lease is gone (being reaped) do not count.
"""

ACK: Final = """
local acked = tonumber(redis.call('HGET', KEYS[1], 'acked') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local wanted = math.min(tonumber(ARGV[1]), last)
if wanted <= acked then
  return acked
end
redis.call('HSET', KEYS[1], 'acked', wanted)
local runs = redis.call('HGETALL', KEYS[2])
local told = {}
for i = 2, #runs, 2 do
  local node = runs[i]
  if node ~= ARGV[2] and not told[node] then
    told[node] = true
    redis.call('PUBLISH', ARGV[3] .. ':node:' .. node .. ':ch', 'a\t' .. ARGV[4] .. '\t' .. wanted)
  end
end
return wanted
"""
"""KEYS meta, user runs; ARGV seq, acking node, key prefix, user id.

Cumulative: never backwards, never past the last seq. A raised ack is published to
every other node that runs one of the user's runs (its delivery waiters count it).
"""

TOUCH_USERS: Final = """
local out = {}
for i = 1, #KEYS, 3 do
  redis.call('HSET', KEYS[i], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[i], ARGV[3])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[4])
  redis.call('EXPIRE', KEYS[i + 2], ARGV[4])
  local held = redis.call('HMGET', KEYS[i + 1], 'epoch', 'seq')
  out[#out + 1] = held[1] or ''
  out[#out + 1] = held[2] or '0'
end
return out
"""
"""KEYS presence, meta, log of each user; ARGV node, present until, presence ttl, log ttl.

Keeps connected users' presence and logs alive, all in one call; returns each log's
epoch ('' once Redis lost it) and seq.
"""
