-- wrk script: FAL webhooks from a file prepared by bench/run.py, one request
-- per line: "<path and query>\t<json body>[\t<request id>\t<user id>\t<timestamp>\t<signature>]"
-- (the last four: FAL's X-Fal-Webhook-* signature headers).
--
--   wrk -tT ... -s bench/wrk/fal.lua http://127.0.0.1:PORT -- FILE T [once]
--
-- Thread t of T starts at line (t-1)/T of the file and goes round it, so the
-- first pass completes every training once (bench/run.py times it until the
-- last completion is in the database) and later passes are duplicates.
-- With "once", a thread that has sent its share (1/T of the file) sends
-- its later requests (duplicates) one a second per connection: a thread
-- that finishes first does not load the machine with duplicates while the
-- other completes its share, so the time measures completions only.
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  lines = {}
  for line in io.lines(args[1]) do
    local f = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = field end
    if #f >= 2 then
      local h = { ["Content-Type"] = "application/json" }
      if #f >= 6 then
        h["X-Fal-Webhook-Request-Id"] = f[3]
        h["X-Fal-Webhook-User-Id"] = f[4]
        h["X-Fal-Webhook-Timestamp"] = f[5]
        h["X-Fal-Webhook-Signature"] = f[6]
      end
      lines[#lines + 1] = { f[1], f[2], h }
    end
  end
  local t = tonumber(args[2] or "1")
  i = math.floor((tid - 1) * #lines / t)
  share = math.ceil(#lines / t)
  once = args[3] == "once"
  sent = 0
end

function delay()
  if once and sent > share then return 1000 end
  return 0
end

function request()
  sent = sent + 1
  i = i % #lines + 1
  local l = lines[i]
  return wrk.format("POST", l[1], l[3], l[2])
end
