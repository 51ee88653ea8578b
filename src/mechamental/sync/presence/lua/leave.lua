-- Leave (quiet if not joined).
-- ARGV: prefix ws user now
local now = tonumber(ARGV[4])
local m = load()
if not m.j then return reply(m, now, false) end
m.j, m.vt, m.vi, m.r = false, '', '', 'leave'
bump(m)
redis.call('ZREM', P .. ':due', member)
local out = reply(m, now, true)
if m.n == 0 then redis.call('DEL', u) else save(m) end
return out
