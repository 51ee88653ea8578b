-- Entries of one due shard whose hint has passed, each with its generation.
-- KEYS: a due shard, its generations. ARGV: now limit  -> {member, generation, ...}
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0,
                              tonumber(ARGV[2]))) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', KEYS[2], m) or ''
end
return out
