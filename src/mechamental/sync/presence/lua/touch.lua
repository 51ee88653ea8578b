-- Join (and view a resource), refresh the TTL.
-- ARGV: user org now ttl has_viewing viewing_type viewing_id
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local m = load()
m.o = ARGV[2]
local was = present(m, now)
local bvt, bvi = m.vt, m.vi
if not m.j then m.vt, m.vi = '', '' end
m.j = true
m.t = math.max(m.t, now + ttl)
if ARGV[5] == '1' then m.vt, m.vi = ARGV[6], ARGV[7] end
local changed = (not was) or bvt ~= m.vt or bvi ~= m.vi
if changed then bump(m) end
save(m)
return reply(m, now, changed)
