-- wrk script: GET /bench/one?id=N for a random known user (the peers of
-- issue 18: bench/peers/one_select.c and bench/peers/fastapi_peer.py).
--
--   wrk ... -s bench/wrk/one.lua http://127.0.0.1:PORT -- USERS
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  users = tonumber(args[1] or "100000")
  math.randomseed(tid * 7919)
end

function request()
  return wrk.format("GET", "/bench/one?id=" .. (1000000000 + math.random(users)))
end
