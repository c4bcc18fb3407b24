-- wrk script: FAL webhooks from a file prepared by bench/run.py, one request
-- per line: "<path and query>\t<json body>".
--
--   wrk -tT ... -s bench/wrk/fal.lua http://127.0.0.1:PORT -- FILE T
--
-- Thread t of T starts at line (t-1)/T of the file and goes round it, so the
-- first pass completes every training once (bench/run.py times it until the
-- last completion is in the database) and later passes are duplicates.
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  lines = {}
  for line in io.lines(args[1]) do
    local path, body = line:match("^([^\t]+)\t(.*)$")
    if path then lines[#lines + 1] = { path, body } end
  end
  headers = { ["Content-Type"] = "application/json" }
  i = math.floor((tid - 1) * #lines / tonumber(args[2] or "1"))
end

function request()
  i = i % #lines + 1
  local l = lines[i]
  return wrk.format("POST", l[1], headers, l[2])
end
