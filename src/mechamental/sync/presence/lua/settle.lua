-- Apply expiry if the member's deadline has passed.
-- ARGV: prefix ws user now
local now = tonumber(ARGV[4])
local m = load()
if not m.exists then
  redis.call('ZREM', P .. ':due', member)
  m.v, m.r = stamp, 'expired'
  return reply(m, now, true)
end
local changed = m.j and not present(m, now)
if changed then
  m.j, m.vt, m.vi, m.r = false, '', '', 'expired'
  bump(m)
end
local out = reply(m, now, changed)
if not m.j and m.n == 0 then
  redis.call('DEL', u)
  redis.call('ZREM', P .. ':due', member)
else
  save(m)
  schedule(m)
end
return out
