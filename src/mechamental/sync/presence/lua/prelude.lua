-- Shared by every per-member script: the member's hash and helpers.
-- KEYS[1]: the member's hash, KEYS[2]: its workspace's connection counts (one hash tag,
-- `{workspace id}`: one Cluster slot). ARGV[1]: the user id.
local u, cn, user = KEYS[1], KEYS[2], ARGV[1]
local tm = redis.call('TIME')
local stamp = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
-- The member's deadline: when it expires unless something happens (none while streams hold it).
local function deadline(m)
  if m.j and m.n == 0 then return m.t end
  return nil
end
local function load()
  local r = redis.call('HMGET', u, 'j', 't', 'vt', 'vi', 'v', 'n', 'o', 'r')
  local m = {exists = r[1] ~= false, j = r[1] == '1', t = tonumber(r[2] or '0'),
             vt = r[3] or '', vi = r[4] or '', v = tonumber(r[5] or '0'),
             n = tonumber(r[6] or '0'), o = r[7] or '', r = r[8] or 'leave'}
  m.d0 = deadline(m)  -- before this step: it already has a due hint at or before it
  return m
end
local function fmt(t) return string.format('%.17g', t) end
-- The deadline the caller must write a due hint for ('' if none is needed): a new one,
-- or one earlier than before. A later deadline keeps the old (early) hint.
local function hint(m)
  local d = deadline(m)
  if d and (m.d0 == nil or d < m.d0) then return fmt(d) end
  return ''
end
local function present(m, now) return m.j and (m.n > 0 or m.t > now) end
local function bump(m) m.v = math.max(m.v + 1, stamp) end
local function save(m)
  redis.call('HSET', u, 'o', m.o, 'j', m.j and '1' or '0', 't', m.t, 'vt', m.vt, 'vi', m.vi,
             'v', m.v, 'n', m.n, 'r', m.r)
  redis.call('EXPIRE', u, 172800)
end
local function reply(m, now, changed)
  local p = present(m, now)
  return {p and 1 or 0, m.v, p and m.vt or '', p and m.vi or '', m.r, m.o, changed and 1 or 0,
          hint(m)}
end
