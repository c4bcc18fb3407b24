-- wrk script: distinct, realistic Telegram updates for POST /telegram/webhook.
--
--   wrk ... -s bench/wrk/telegram.lua http://127.0.0.1:PORT -- KIND BASE SECRET USERS [LIMIT]
--
-- KIND   press  a main-menu button of a known user (callback_query "v1:menu")
--        help   /help of a known user
--        start  /start of a user the bot has never seen
--        photo  a photo from a user in the upload step (users BASE_PHOTO..)
--        mixed  the four above in turn
-- BASE   first update_id; each thread counts from BASE + thread * 10^8, so
--        every update of a run (and of the next run, given a new BASE) is new
-- USERS  known users are telegram ids 1000000001 .. 1000000000+USERS
-- LIMIT  optional: each thread stops after LIMIT responses
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  kind = args[1] or "press"
  base = tonumber(args[2] or "5000000000") + tid * 100000000
  secret = args[3] or ""
  users = tonumber(args[4] or "100000")
  limit = tonumber(args[5] or "0")
  n, done = 0, 0
  math.randomseed(base)
  headers = { ["Content-Type"] = "application/json",
              ["X-Telegram-Bot-Api-Secret-Token"] = secret }
end

local names = { "Алия", "Marat", "Даша", "Ильдар", "Sophie", "Тимур" }

local function from(uid)
  return string.format(
    '{"id":%d,"is_bot":false,"first_name":"%s","username":"u%d","language_code":"%s"}',
    uid, names[uid % #names + 1], uid, uid % 2 == 0 and "ru" or "en")
end

local function chat(uid)
  return string.format('{"id":%d,"first_name":"%s","type":"private"}', uid,
    names[uid % #names + 1])
end

local function message(upd, uid, rest)
  return string.format(
    '{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":%d,%s}}',
    upd, upd % 1000000 + 1, from(uid), chat(uid),
    os.time(), rest)
end

local bodies = {}

function bodies.press(upd)
  local uid = 1000000000 + math.random(users)
  return string.format(
    '{"update_id":%d,"callback_query":{"id":"%d","from":%s,"message":{"message_id":7,' ..
    '"from":{"id":7012345678,"is_bot":true,"first_name":"Aisha","username":"aisha_bot"},' ..
    '"chat":%s,"date":%d,"text":"menu"},"chat_instance":"-501233445566","data":"v1:menu"}}',
    upd, upd, from(uid), chat(uid), os.time())
end

function bodies.help(upd)
  local uid = 1000000000 + math.random(users)
  return message(upd, uid, '"text":"/help","entities":[{"offset":0,"length":5,"type":"bot_command"}]')
end

function bodies.start(upd)
  -- a new user per update: ids above every known one, distinct across
  -- runs (each run's update ids start 10^10 above the last's, at 5*10^9)
  local uid = upd - 2000000000
  return message(upd, uid, '"text":"/start","entities":[{"offset":0,"length":6,"type":"bot_command"}]')
end

function bodies.photo(upd)
  -- the upload step: users 1000090001 .. 1000100000 (bench/seed.sql)
  local uid = 1000090000 + math.random(10000)
  local sizes = {}
  for i, wh in ipairs({ { 90, 120 }, { 480, 640 }, { 960, 1280 } }) do
    sizes[i] = string.format(
      '{"file_id":"AgACAgIAAxkBAAI%d_%d","file_unique_id":"AQAD%d_%d","file_size":%d,' ..
      '"width":%d,"height":%d}', upd, i, upd, i, wh[1] * wh[2] / 8, wh[1], wh[2])
  end
  return message(upd, uid, '"photo":[' .. table.concat(sizes, ",") .. ']')
end

local order = { "press", "help", "start", "photo" }

function request()
  n = n + 1
  local k = kind
  if k == "mixed" then k = order[n % #order + 1] end
  return wrk.format("POST", "/telegram/webhook", headers, bodies[k](base + n))
end

function response(status, hdrs, body)
  done = done + 1
  if limit > 0 and done >= limit then wrk.thread:stop() end
end
