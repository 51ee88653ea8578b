-- Join (and view a resource), refresh the TTL.
-- ARGV: prefix ws user org now ttl has_viewing viewing_type viewing_id
local now, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local m = load()
m.o = ARGV[4]
local was = present(m, now)
local bvt, bvi = m.vt, m.vi
if not m.j then m.vt, m.vi = '', '' end
m.j = true
m.t = math.max(m.t, now + ttl)
if ARGV[7] == '1' then m.vt, m.vi = ARGV[8], ARGV[9] end
local changed = (not was) or bvt ~= m.vt or bvi ~= m.vi
if changed then bump(m) end
save(m)
schedule(m)
return reply(m, now, changed)
