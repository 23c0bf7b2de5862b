-- http_wrk.lua — POST /rpc/tr_reserve for wrk, driven by test/bench/http_wrk.sh.
-- Env: TR_SEATS (file, one seat uuid per line), TR_TOKENS (file, one JWT per
-- line), TR_EVENT (event uuid), TR_MODE = "spread" (every request another
-- seat and another user: the success path) or "hot" (everyone on seat 1:
-- the 409 path), TR_THREADS (wrk -t), TR_OFFSET (start further into the
-- seat list). Prints the status counts, p50, p99 and requests/s at the end.

local function lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

local seats = lines(os.getenv("TR_SEATS"))
local tokens = lines(os.getenv("TR_TOKENS"))
local event = os.getenv("TR_EVENT")
local mode = os.getenv("TR_MODE")
local hot = mode == "hot"
local threads = {}
local nthreads = tonumber(os.getenv("TR_THREADS") or "2")

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- this thread's requests are id, id + T, id + 2T, ... after TR_OFFSET (a
  -- warm-up run takes its seats from elsewhere in the list than the real run)
  n = id + tonumber(os.getenv("TR_OFFSET") or "0") * nthreads
  counts = {}
end

function request()
  local i = n % #seats + 1
  local seat = hot and seats[1] or seats[i]
  local token = tokens[n % #tokens + 1]
  n = n + nthreads
  local body = string.format(
    '{"event_id":"%s","seat_ids":["%s"],"idempotency_key":"%s-%d"}', event, seat, mode, n)
  return wrk.format("POST", "/rpc/tr_reserve", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %s: %d\n", k, v)) end
  io.write(string.format("p50_ms %.2f\np99_ms %.2f\nrps %.1f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
