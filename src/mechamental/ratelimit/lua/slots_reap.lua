-- Forget a dead process's stream counts: the keys of its held set (read by the caller, in
-- batches), then, with `last`, the set and its lease. Idempotent; quiet if the process
-- renewed its lease meanwhile (it rewrites its counts itself).
-- KEYS: procs zset, the dead process's held set, then count hashes from that set.
-- ARGV: dead process, now, last (1 or 0).
local dead, now = ARGV[1], tonumber(ARGV[2])
if tonumber(redis.call('ZSCORE', KEYS[1], dead) or '-1') >= now then return 0 end
for i = 3, #KEYS do
  redis.call('HDEL', KEYS[i], dead)
  redis.call('SREM', KEYS[2], KEYS[i])
end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], dead)
end
return 1
