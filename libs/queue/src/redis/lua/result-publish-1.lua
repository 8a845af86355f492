-- Keeps a result (when asked) and publishes it on the job's and the worker's channels, in one atomic step on the
-- node that holds the result key: whoever reads the key after the publish finds the result.
-- KEYS: result key. ARGV: keepMs (0: do not keep), payload, job channel, worker channel.
if ARGV[1] ~= '0' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1]) end
redis.call('PUBLISH', ARGV[3], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
