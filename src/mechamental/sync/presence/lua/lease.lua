-- Renew this process's lease; name dead processes (lease ended) for the caller to reap.
-- KEYS: the leases zset, our held set (both tagged `{procs}`).
-- ARGV: process now lease reap  -> {had_lease, dead1, deadline1, ...}
local proc, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {redis.call('ZSCORE', KEYS[1], proc) and 1 or 0}
redis.call('ZADD', KEYS[1], now + lease, proc)
if ARGV[4] == '1' then
  local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 8)
  for _, item in ipairs(dead) do out[#out + 1] = item end
end
return out
