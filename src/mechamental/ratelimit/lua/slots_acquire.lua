-- Admit one more stream of a user in an org, or say which cap it would pass.
-- Every stream-cap key carries the same hash tag (one Cluster slot): the script reads
-- other processes' leases (KEYS[1]: zset process -> lease deadline) and counts.
-- KEYS: procs, org hash (process -> streams), user hash (process -> streams), our held set.
-- ARGV: process, now, lease, stale (-1: count every live process), org cap, user cap,
--       our org count and our user count, this stream included.
-- Returns {1, '', total} or {0, scope, current}.
local proc, now, lease, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function others(key)
  local total = 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local p = fields[i]
    if p ~= proc then
      local deadline = tonumber(redis.call('ZSCORE', KEYS[1], p) or '-1')
      if deadline < now then
        redis.call('HDEL', key, p)  -- its process is gone: its streams went with it
      elseif stale < 0 or deadline - lease + stale >= now then
        total = total + tonumber(fields[i + 1])
      end
    end
  end
  return total
end
local org = others(KEYS[2]) + tonumber(ARGV[7])
if org > tonumber(ARGV[5]) then return {0, 'org', org - 1} end
local user = others(KEYS[3]) + tonumber(ARGV[8])
if user > tonumber(ARGV[6]) then return {0, 'user', user - 1} end
redis.call('HSET', KEYS[2], proc, ARGV[7])
redis.call('HSET', KEYS[3], proc, ARGV[8])
redis.call('SADD', KEYS[4], KEYS[2], KEYS[3])
return {1, '', org}
