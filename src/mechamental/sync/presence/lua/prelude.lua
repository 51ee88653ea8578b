-- Shared by every per-member script: the member's hash and helpers.
-- ARGV[1..3]: prefix, workspace id, user id.
local P, ws, user = ARGV[1], ARGV[2], ARGV[3]
local u = P .. ':u:' .. ws .. ':' .. user
local member = ws .. '|' .. user
local tm = redis.call('TIME')
local stamp = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
local function load()
  local r = redis.call('HMGET', u, 'j', 't', 'vt', 'vi', 'v', 'n', 'o', 'r')
  return {exists = r[1] ~= false, j = r[1] == '1', t = tonumber(r[2] or '0'),
          vt = r[3] or '', vi = r[4] or '', v = tonumber(r[5] or '0'),
          n = tonumber(r[6] or '0'), o = r[7] or '', r = r[8] or 'leave'}
end
local function present(m, now) return m.j and (m.n > 0 or m.t > now) end
local function bump(m) m.v = math.max(m.v + 1, stamp) end
local function save(m)
  redis.call('HSET', u, 'o', m.o, 'j', m.j and '1' or '0', 't', m.t, 'vt', m.vt, 'vi', m.vi,
             'v', m.v, 'n', m.n, 'r', m.r)
  redis.call('EXPIRE', u, 172800)
end
local function schedule(m)
  if m.j and m.n == 0 then redis.call('ZADD', P .. ':due', m.t, member)
  else redis.call('ZREM', P .. ':due', member) end
end
local function reply(m, now, changed)
  local p = present(m, now)
  return {p and 1 or 0, m.v, p and m.vt or '', p and m.vi or '', m.r, m.o, changed and 1 or 0}
end
