-- Apply expiry if the member's deadline has passed; the reply ends with its deadline
-- after this ('' if none), which the sweeper writes back to the due hint.
-- ARGV: user now
local now = tonumber(ARGV[2])
local m = load()
if not m.exists then
  m.v, m.r = stamp, 'expired'
  local out = reply(m, now, true)
  out[#out + 1] = ''
  return out
end
local changed = m.j and not present(m, now)
if changed then
  m.j, m.vt, m.vi, m.r = false, '', '', 'expired'
  bump(m)
end
local out = reply(m, now, changed)
local d = deadline(m)
out[#out + 1] = d and fmt(d) or ''
if not m.j and m.n == 0 then redis.call('DEL', u) else save(m) end
return out
