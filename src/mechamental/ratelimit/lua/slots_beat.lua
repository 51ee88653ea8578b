-- Renew our lease; name up to 8 processes whose lease ended (killed ones) for the caller
-- to reap (`slots_reap.lua`, with their held keys in KEYS).
-- KEYS: procs zset, our held set. ARGV: process, now, lease.
-- Returns {1 if our lease was still live (else our counts may have been dropped: rewrite),
-- dead process ids...}.
local proc, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local mine = tonumber(redis.call('ZSCORE', KEYS[1], proc) or '-1')
redis.call('ZADD', KEYS[1], now + lease, proc)
redis.call('PEXPIRE', KEYS[2], math.ceil(lease * 3000))
local out = {mine >= now and 1 or 0}
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 8)) do
  out[#out + 1] = dead
end
return out
