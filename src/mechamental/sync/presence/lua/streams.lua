-- One process holds `count` streams of the member; the grace starts at the last one.
-- ARGV: prefix ws user org process count now grace
local proc, count, now, grace = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local old = tonumber(redis.call('HGET', u, 'c:' .. proc) or '0')
if old == count then return 0 end
local m = load()
if not m.exists and count == 0 then return 0 end
if m.o == '' then m.o = ARGV[4] end
if count == 0 then
  redis.call('HDEL', u, 'c:' .. proc)
  redis.call('SREM', P .. ':ph:' .. proc, member)
else
  redis.call('HSET', u, 'c:' .. proc, count)
  redis.call('SADD', P .. ':ph:' .. proc, member)
end
local before = m.n
m.n = math.max(0, m.n + count - old)
if m.n > 0 then redis.call('HSET', P .. ':cn:' .. ws, user, m.n)
else redis.call('HDEL', P .. ':cn:' .. ws, user) end
if before > 0 and m.n == 0 and m.j then m.t = now + grace end
if not m.j and m.n == 0 then
  redis.call('DEL', u)
  redis.call('ZREM', P .. ':due', member)
  return 1
end
save(m)
schedule(m)
return 1
