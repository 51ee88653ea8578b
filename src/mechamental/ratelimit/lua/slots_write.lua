-- Write our stream counts (this process's own, exact). KEYS: our held set.
-- ARGV: process, then pairs of (hash key, count); 0 removes our field.
local proc = ARGV[1]
for i = 2, #ARGV, 2 do
  local key, n = ARGV[i], tonumber(ARGV[i + 1])
  if n > 0 then
    redis.call('HSET', key, proc, n)
    redis.call('SADD', KEYS[1], key)
  else
    redis.call('HDEL', key, proc)
    redis.call('SREM', KEYS[1], key)
  end
end
return 1
