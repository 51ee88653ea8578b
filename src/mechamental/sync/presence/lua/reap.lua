-- A dead process's streams of the member end (idempotent: its field goes with the first
-- reap). Its users are present until `left_at` (its last renewal plus the grace).
-- ARGV: user process left_at  -> {reaped, hint}
local proc, left_at = ARGV[2], tonumber(ARGV[3])
local held = tonumber(redis.call('HGET', u, 'c:' .. proc) or '0')
if held == 0 then return {0, ''} end
redis.call('HDEL', u, 'c:' .. proc)
local m = load()
m.n = math.max(0, m.n - held)
if m.n > 0 then
  redis.call('HSET', cn, user, m.n)
  save(m)
  return {1, ''}
end
redis.call('HDEL', cn, user)
if not m.j then
  redis.call('DEL', u)
  return {1, ''}
end
m.t = left_at
save(m)
return {1, hint(m)}
