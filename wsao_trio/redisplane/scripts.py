"""The Lua scripts of the Redis backplane: each one step, atomic on the server.

``PUBLISH_EVENT`` is the heart (as in Centrifugo's Redis engine): it creates the
user's epoch on first use, assigns the next seq, appends the event to the user's
capped stream, keeps the run bookkeeping that node-loss recovery needs (open tool
calls, owned runs) and publishes the event to every node that holds a connection of
the user — so two processes can never give out one seq or order events differently.
"""

from __future__ import annotations

from typing import Final

_EPOCH_ON_FIRST_USE: Final = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = candidate
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0, 'acked', 0)
end
"""
"""Both scripts below: KEYS[1] meta, KEYS[2] log; a log without meta starts a new epoch."""

ENSURE_EPOCH: Final = (
    "local candidate = ARGV[1]"
    + _EPOCH_ON_FIRST_USE
    + """redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {epoch, redis.call('HGET', KEYS[1], 'seq')}
"""
)
"""KEYS meta, log, presence; ARGV epoch candidate, ttl, node, present until, presence ttl."""

PUBLISH_EVENT: Final = (
    """
local f = {}
local from = 1
while true do
  local at = string.find(ARGV[3], '\\t', from, true)
  if not at then
    f[#f + 1] = string.sub(ARGV[3], from)
    break
  end
  f[#f + 1] = string.sub(ARGV[3], from, at - 1)
  from = at + 1
end
local stamp, kind, run, candidate = f[2], f[5], f[6], f[1]
if redis.call('HEXISTS', KEYS[5], run) == 0 then
  return false
end
"""
    + _EPOCH_ON_FIRST_USE
    + """local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local text = ARGV[1] .. seq .. ',"event_id":"' .. epoch .. '-' .. seq .. ARGV[2]
redis.call('XADD', KEYS[2], 'MAXLEN', f[3], seq .. '-1', 't', stamp, 'x', text)
redis.call('EXPIRE', KEYS[1], f[4])
redis.call('EXPIRE', KEYS[2], f[4])
if kind == 'agent_started' then
  redis.call('HSET', KEYS[6], '@started', '1')
  redis.call('EXPIRE', KEYS[6], f[4])
elseif kind == 'tool_executing' then
  redis.call('HSET', KEYS[6], f[7], f[8])
  redis.call('EXPIRE', KEYS[6], f[4])
elseif kind == 'tool_completed' then
  redis.call('HDEL', KEYS[6], f[7])
elseif kind == 'agent_completed' or kind == 'agent_error' or kind == 'agent_cancelled' then
  redis.call('HDEL', KEYS[4], run)
  redis.call('HDEL', KEYS[5], run)
  redis.call('DEL', KEYS[6])
end
local tab = '\\t'
local msg = 'e' .. tab .. f[9] .. tab .. epoch .. tab .. seq .. tab .. stamp .. tab .. text
local now = tonumber(stamp)
local present = redis.call('HGETALL', KEYS[3])
for i = 1, #present, 2 do
  if tonumber(present[i + 1]) < now then
    redis.call('HDEL', KEYS[3], present[i])
  elseif present[i] ~= f[11] then
    redis.call('PUBLISH', f[10] .. ':node:' .. present[i] .. ':ch', msg)
  end
end
return {seq, epoch}
"""
)
"""KEYS meta, log, presence, user runs, owning node's runs, run tools.

ARGV head, tail, and one tab-separated field list (fewer arguments: the client's
per-argument cost dominates): epoch candidate, timestamp, maxlen, ttl, event type,
run id, tool call id, tool name, user id, key prefix, publishing node (which gets no
pub/sub copy: it delivers from the reply). Fenced: an event of a run that
its node no longer owns (ended, or declared lost and ended by another node) is refused.
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
if wanted > acked then
  redis.call('HSET', KEYS[1], 'acked', wanted)
  return wanted
end
return acked
"""
"""KEYS meta; ARGV seq. Cumulative: never backwards, never past the last seq."""

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
