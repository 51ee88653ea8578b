-- Write our stream counts (this process's own, exact).
-- KEYS: our held set, then the count hashes. ARGV: process, then each hash's count (0
-- removes our field).
local proc = ARGV[1]
for i = 2, #KEYS do
  local key, n = KEYS[i], tonumber(ARGV[i])
  if n > 0 then
    redis.call('HSET', key, proc, n)
    redis.call('SADD', KEYS[1], key)
  else
    redis.call('HDEL', key, proc)
    redis.call('SREM', KEYS[1], key)
  end
end
return 1
