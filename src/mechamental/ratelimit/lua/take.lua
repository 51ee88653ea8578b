-- Take one call from two token buckets at once (GCRA: a bucket is its theoretical arrival
-- time, TAT), or from neither. Both keys carry the org's hash tag: one Cluster slot.
-- KEYS: credential bucket, org bucket. ARGV: now, then interval and limit (the capacity
-- with its slack, policy.py) of each.
-- Returns {allowed, tat1, tat2}: the TATs after the call, or as they stand if refused.
local now = tonumber(ARGV[1])
local function state(key, interval, limit)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  return tat, tat + interval - now <= limit
end
local i1, c1, i2, c2 = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local t1, ok1 = state(KEYS[1], i1, c1)
local t2, ok2 = state(KEYS[2], i2, c2)
if ok1 and ok2 then
  t1, t2 = t1 + i1, t2 + i2
  -- A bucket whole again is the same as no key: it expires then.
  redis.call('SET', KEYS[1], string.format('%.17g', t1), 'PX', math.ceil((t1 - now) * 1000) + 1)
  redis.call('SET', KEYS[2], string.format('%.17g', t2), 'PX', math.ceil((t2 - now) * 1000) + 1)
  return {1, string.format('%.17g', t1), string.format('%.17g', t2)}
end
return {0, string.format('%.17g', t1), string.format('%.17g', t2)}
