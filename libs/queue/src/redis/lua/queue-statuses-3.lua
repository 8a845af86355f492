-- Every job the queue holds, for an admin listing. KEYS: jobs, receipts, wait-result.
-- Returns {ids of all jobs, ids of claimed jobs, ids of jobs marked waiting for their result}.
return {redis.call('HKEYS', KEYS[1]), redis.call('HKEYS', KEYS[2]), redis.call('SMEMBERS', KEYS[3])}
