-- Recreate an announced member the store lost (kept until `until` unless streams hold it).
-- ARGV: prefix ws user org viewing_type viewing_id version until
local m = load()
if m.j then return 0 end
m.o, m.j, m.vt, m.vi, m.t = ARGV[4], true, ARGV[5], ARGV[6], tonumber(ARGV[8])
m.v = math.max(m.v, tonumber(ARGV[7]))
save(m)
schedule(m)
return 1
