-- Leave (quiet if not joined). ARGV: user now
local now = tonumber(ARGV[2])
local m = load()
if not m.j then return reply(m, now, false) end
m.j, m.vt, m.vi, m.r = false, '', '', 'leave'
bump(m)
local out = reply(m, now, true)
if m.n == 0 then redis.call('DEL', u) else save(m) end
return out
