-- Recreate an announced member the store lost (kept until `until` unless streams hold it).
-- Recovery seeds every announced member: one already there returns its deadline too, so
-- a due hint lost with another master is written again.
-- ARGV: user org viewing_type viewing_id version until  -> {created, deadline to hint}
local m = load()
if m.j then
  local d = deadline(m)
  return {0, d and fmt(d) or ''}
end
m.o, m.j, m.vt, m.vi, m.t = ARGV[2], true, ARGV[3], ARGV[4], tonumber(ARGV[6])
m.v = math.max(m.v, tonumber(ARGV[5]))
save(m)
local d = deadline(m)
return {1, d and fmt(d) or ''}
