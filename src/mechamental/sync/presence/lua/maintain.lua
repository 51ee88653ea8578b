-- Renew this process's lease, reap dead processes' streams (if `reap`), report the store's
-- epoch and whether our lease was still there (a missing one was reaped, or the store reset).
-- ARGV: prefix process now lease grace new_epoch reap  -> {epoch, created, had_lease}
local P, proc, now, lease, grace = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5])
local created = 0
local epoch = redis.call('GET', P .. ':epoch')
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', P .. ':epoch', epoch)
  created = 1
end
local had_lease = redis.call('ZSCORE', P .. ':procs', proc) and 1 or 0
redis.call('ZADD', P .. ':procs', now + lease, proc)
local dead = {}
if ARGV[7] == '1' then
  dead = redis.call('ZRANGEBYSCORE', P .. ':procs', '-inf', now, 'WITHSCORES', 'LIMIT', 0, 8)
end
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
return {epoch, created, had_lease}
