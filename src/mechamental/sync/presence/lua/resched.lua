-- After a sweep settled the member: if nothing wrote its hint since the sweep read it
-- (same generation), the hint becomes its real deadline, or goes if it has none.
-- KEYS: a due shard, its generations. ARGV: member generation deadline ('' if none)
if (redis.call('HGET', KEYS[2], ARGV[1]) or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
