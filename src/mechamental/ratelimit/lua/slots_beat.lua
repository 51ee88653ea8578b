-- Renew our lease; forget the streams of processes whose lease ended (killed ones).
-- KEYS: procs zset. ARGV: process, now, lease, prefix of held sets.
-- Returns 1 if our lease was still live (else our counts may have been dropped: rewrite).
local proc, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local mine = tonumber(redis.call('ZSCORE', KEYS[1], proc) or '-1')
redis.call('ZADD', KEYS[1], now + lease, proc)
redis.call('PEXPIRE', ARGV[4] .. proc, math.ceil(lease * 3000))
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 8)) do
  local held = ARGV[4] .. dead
  for _, key in ipairs(redis.call('SMEMBERS', held)) do redis.call('HDEL', key, dead) end
  redis.call('DEL', held)
  redis.call('ZREM', KEYS[1], dead)
end
return mine >= now and 1 or 0
