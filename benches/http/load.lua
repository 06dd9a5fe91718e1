-- wrk script for benches/http/load.sh. Arguments after `--`: MODE KEY
--   create: POST leads/ (the website's 11-field contact form) with the key, each request
--           from a random X-Forwarded-For address in 10.0.0.0/8;
--   subscribe: POST newsletter/ (the newsletter form) with the key, each request a new
--           address from a random X-Forwarded-For address in 10.0.0.0/8;
--   get:    GET of the URL given to wrk, with the key (may be "-" for none).
-- At the end it prints one line the load script parses:
--   RESULT rps=... p50_ms=... p99_ms=... requests=... errors=... non2xx=...

local mode, key
local body = '{"full_name":"Ada Lovelace","position":"CTO","company_name":"Analytical Engines",'
  .. '"email":"ada@example.com","phone":"+44 20 7946 0958",'
  .. '"message":"We would like to talk about a new project.","source":"website",'
  .. '"category":"consulting","utm_source":"google","utm_medium":"cpc","utm_campaign":"spring"}'

local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "get"
  key = args[2] or "-"
  math.randomseed(os.time() * 1000 + (id or 0))
  wrk.headers["Connection"] = "keep-alive"
  if key ~= "-" then
    wrk.headers["Authorization"] = "Basic " .. key
  end
  if mode == "create" or mode == "subscribe" then
    wrk.method = "POST"
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) wrk"
    wrk.headers["Referer"] = "https://exit3.example/contact"
  end
end

local sent = 0
function request()
  if mode == "subscribe" then
    sent = sent + 1
    wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.random(0, 255), math.random(0, 255), math.random(1, 254))
    return wrk.format(nil, nil, nil, string.format(
      '{"email":"reader-%d-%d-%d@example.com","full_name":"Ada Lovelace","source":"website"}',
      id or 0, math.random(0, 2147483647), sent))
  end
  if mode == "create" then
    wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.random(0, 255), math.random(0, 255), math.random(1, 254))
    return wrk.format()
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d non2xx=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
end
