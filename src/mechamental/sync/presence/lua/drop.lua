-- The last step of reaping a process (after each member it held): its held set and lease.
-- KEYS: the leases zset, its held set. ARGV: process
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
