-- One master's epoch: a token set once and lost with the master's data.
-- KEYS: the epoch key. ARGV: a new token  -> {token, created}
local epoch = redis.call('GET', KEYS[1])
if epoch then return {epoch, 0} end
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 1}
