"""The Lua scripts of the Redis backplane: each one step, atomic on the server.

``PUBLISH_EVENT`` is the heart (as in Centrifugo's Redis engine): it creates the
user's epoch on first use, assigns the next seq, appends the event to the user's
capped stream, keeps the run bookkeeping that node-loss recovery needs (open tool
calls, owned runs) and publishes the event to every node that holds a connection of
the user — so two processes can never give out one seq or order events differently.
"""

from __future__ import annotations

from typing import Final

ENSURE_EPOCH: Final = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0, 'acked', 0)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {epoch, redis.call('HGET', KEYS[1], 'seq')}
"""
"""KEYS meta, log, presence; ARGV epoch candidate, ttl, node, present until, presence ttl."""

PUBLISH_EVENT: Final = """
if redis.call('HEXISTS', KEYS[5], ARGV[9]) == 0 then
  return false
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0, 'acked', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local text = ARGV[2] .. seq .. ',"event_id":"' .. epoch .. '-' .. seq .. ARGV[3]
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], seq .. '-1', 't', ARGV[4], 'x', text)
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
local kind = ARGV[8]
if kind == 'tool_executing' then
  redis.call('HSET', KEYS[6], ARGV[10], ARGV[11])
  redis.call('EXPIRE', KEYS[6], ARGV[6])
elseif kind == 'tool_completed' then
  redis.call('HDEL', KEYS[6], ARGV[10])
elseif kind == 'agent_completed' or kind == 'agent_error' or kind == 'agent_cancelled' then
  redis.call('HDEL', KEYS[4], ARGV[9])
  redis.call('HDEL', KEYS[5], ARGV[9])
  redis.call('DEL', KEYS[6])
end
local tab = '\\t'
local msg = 'e' .. tab .. ARGV[12] .. tab .. epoch .. tab .. seq .. tab .. ARGV[4] .. tab .. text
local now = tonumber(ARGV[7])
local present = redis.call('HGETALL', KEYS[3])
for i = 1, #present, 2 do
  if tonumber(present[i + 1]) < now then
    redis.call('HDEL', KEYS[3], present[i])
  else
    redis.call('PUBLISH', ARGV[13] .. ':node:' .. present[i] .. ':ch', msg)
  end
end
return {seq, epoch}
"""
"""KEYS meta, log, presence, user runs, owning node's runs, run tools.

ARGV epoch candidate, head, tail, timestamp, maxlen, ttl, now, event type, run id,
tool call id, tool name, user id, key prefix. Fenced: an event of a run that its
node no longer owns (ended, or declared lost and ended by another node) is refused.
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

ARGV "run thread", dedup window ms, runs limit, run id, node, "user thread agent",
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

TOUCH_USER: Final = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return redis.call('HMGET', KEYS[2], 'epoch', 'seq')
"""
"""KEYS presence, meta, log; ARGV node, present until, presence ttl, log ttl.

Keeps a connected user's presence and log alive; returns the log's epoch and seq.
"""
