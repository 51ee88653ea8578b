-- One process holds `count` streams of the member; the grace starts at the last one.
-- (The caller keeps the process's held set, in its own slot: added before, removed after.)
-- ARGV: user org process count now grace  -> {changed, hint}
local proc, count, now, grace = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local old = tonumber(redis.call('HGET', u, 'c:' .. proc) or '0')
if old == count then return {0, ''} end
local m = load()
if not m.exists and count == 0 then return {0, ''} end
if m.o == '' then m.o = ARGV[2] end
if count == 0 then redis.call('HDEL', u, 'c:' .. proc)
else redis.call('HSET', u, 'c:' .. proc, count) end
local before = m.n
m.n = math.max(0, m.n + count - old)
if m.n > 0 then redis.call('HSET', cn, user, m.n)
else redis.call('HDEL', cn, user) end
if before > 0 and m.n == 0 and m.j then m.t = now + grace end
if not m.j and m.n == 0 then
  redis.call('DEL', u)
  return {1, ''}
end
save(m)
return {1, hint(m)}
