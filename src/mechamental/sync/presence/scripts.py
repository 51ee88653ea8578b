"""Lua scripts of the Redis presence store: each presence step is one atomic script.

Keys (P = prefix): `P:u:<ws>:<user>` hash of a member (o org, j joined, t until, vt/vi
viewing, v version, r reason, n streams, c:<proc> streams held by one process);
`P:cn:<ws>` hash user -> streams; `P:due` zset of `<ws>|<user>` by deadline;
`P:procs` zset of process leases; `P:ph:<proc>` set of members a process holds streams of;
`P:epoch` marks the store's lifetime (a Redis restart loses it).
"""

PRELUDE = """
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
"""

# ARGV: P ws user org now ttl hasview vt vi
TOUCH = (
    PRELUDE
    + """
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
"""
)

# ARGV: P ws user now
LEAVE = (
    PRELUDE
    + """
local now = tonumber(ARGV[4])
local m = load()
if not m.j then return reply(m, now, false) end
m.j, m.vt, m.vi, m.r = false, '', '', 'leave'
bump(m)
redis.call('ZREM', P .. ':due', member)
local out = reply(m, now, true)
if m.n == 0 then redis.call('DEL', u) else save(m) end
return out
"""
)

# ARGV: P ws user org proc count now grace
STREAMS = (
    PRELUDE
    + """
local proc, count, now, grace = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local old = tonumber(redis.call('HGET', u, 'c:' .. proc) or '0')
if old == count then return 0 end
local m = load()
if not m.exists and count == 0 then return 0 end
if m.o == '' then m.o = ARGV[4] end
if count == 0 then
  redis.call('HDEL', u, 'c:' .. proc)
  redis.call('SREM', P .. ':ph:' .. proc, member)
else
  redis.call('HSET', u, 'c:' .. proc, count)
  redis.call('SADD', P .. ':ph:' .. proc, member)
end
local before = m.n
m.n = math.max(0, m.n + count - old)
if m.n > 0 then redis.call('HSET', P .. ':cn:' .. ws, user, m.n)
else redis.call('HDEL', P .. ':cn:' .. ws, user) end
if before > 0 and m.n == 0 and m.j then m.t = now + grace end
if not m.j and m.n == 0 then
  redis.call('DEL', u)
  redis.call('ZREM', P .. ':due', member)
  return 1
end
save(m)
schedule(m)
return 1
"""
)

# ARGV: P ws user now
SETTLE = (
    PRELUDE
    + """
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
"""
)

# ARGV: P ws user org vt vi version until
SEED = (
    PRELUDE
    + """
local m = load()
if m.j then return 0 end
m.o, m.j, m.vt, m.vi, m.t = ARGV[4], true, ARGV[5], ARGV[6], tonumber(ARGV[8])
m.v = math.max(m.v, tonumber(ARGV[7]))
save(m)
schedule(m)
return 1
"""
)

# ARGV: P proc now lease grace new_epoch  -> {epoch, created}
MAINTAIN = """
local P, proc, now, lease, grace = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5])
local created = 0
local epoch = redis.call('GET', P .. ':epoch')
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', P .. ':epoch', epoch)
  created = 1
end
redis.call('ZADD', P .. ':procs', now + lease, proc)
local dead = redis.call('ZRANGEBYSCORE', P .. ':procs', '-inf', now, 'WITHSCORES', 'LIMIT', 0, 8)
for i = 1, #dead, 2 do
  local d, deadline = dead[i], tonumber(dead[i + 1])
  local left_at = math.max(deadline - lease + grace, 0)
  for _, member in ipairs(redis.call('SMEMBERS', P .. ':ph:' .. d)) do
    local sep = string.find(member, '|', 1, true)
    local ws, user = string.sub(member, 1, sep - 1), string.sub(member, sep + 1)
    local u = P .. ':u:' .. ws .. ':' .. user
    local held = tonumber(redis.call('HGET', u, 'c:' .. d) or '0')
    if held > 0 then
      redis.call('HDEL', u, 'c:' .. d)
      local n = math.max(0, tonumber(redis.call('HGET', u, 'n') or '0') - held)
      redis.call('HSET', u, 'n', n)
      if n > 0 then redis.call('HSET', P .. ':cn:' .. ws, user, n)
      else
        redis.call('HDEL', P .. ':cn:' .. ws, user)
        if redis.call('HGET', u, 'j') == '1' then
          redis.call('HSET', u, 't', left_at)
          redis.call('ZADD', P .. ':due', left_at, member)
        else
          redis.call('DEL', u)
        end
      end
    end
  end
  redis.call('DEL', P .. ':ph:' .. d)
  redis.call('ZREM', P .. ':procs', d)
end
return {epoch, created}
"""
