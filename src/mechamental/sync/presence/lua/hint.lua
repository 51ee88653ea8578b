-- A member's due hint may only move earlier; every write gives the entry a new generation.
-- KEYS: a due shard, its generations. ARGV: member at generation
redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
