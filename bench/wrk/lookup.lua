-- wrk script for bench/run: identity lookups, one address per request.
--
-- Configured through the environment, which bench/bench.py sets per run:
--   BENCH_KIND   v1 (GET /api/v1/lookup), v2none or v2sha (POST /v2/lookup)
--   BENCH_ITEMS  comma-separated addresses (v1, v2none) or hashes (v2sha),
--                requested in turn: "cache hit" traffic
--   BENCH_MISS   when set, a prefix: every request asks for a new address
--                "<prefix><n>@miss.example" instead, so none can be cached
--   BENCH_TOKEN, BENCH_PEPPER   the v2 access token and lookup pepper
-- At the end one JSON line starting with "BENCH " gives the counts and
-- latency percentiles (microseconds), which bench/bench.py reads instead of
-- wrk's rounded human output.

local kind = os.getenv("BENCH_KIND") or "v1"
local miss = os.getenv("BENCH_MISS")
local token = os.getenv("BENCH_TOKEN") or ""
local pepper = os.getenv("BENCH_PEPPER") or ""
local prepared = {}
local n = 0

local v1_path = "/_matrix/identity/api/v1/lookup?medium=email&address="
local v2_path = "/_matrix/identity/v2/lookup"
local v2_headers = {
   ["Authorization"] = "Bearer " .. token,
   ["Content-Type"] = "application/json",
}

local function make(item)
   if kind == "v1" then
      return wrk.format("GET", v1_path .. item)
   end
   local algorithm, entry = "sha256", item
   if kind == "v2none" then
      algorithm, entry = "none", item .. " email"
   end
   return wrk.format("POST", v2_path, v2_headers,
      '{"algorithm":"' .. algorithm .. '","pepper":"' .. pepper ..
      '","addresses":["' .. entry .. '"]}')
end

function init(args)
   -- Hit traffic is prepared once, so wrk spends its time sending.
   for item in string.gmatch(os.getenv("BENCH_ITEMS") or "", "[^,]+") do
      prepared[#prepared + 1] = make(item)
   end
end

function request()
   n = n + 1
   if miss then
      return make(miss .. n .. "@miss.example")
   end
   return prepared[(n % #prepared) + 1]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"connect_errors":%d,' ..
      '"read_errors":%d,"write_errors":%d,"status_errors":%d,' ..
      '"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
      '"mean_us":%.1f,"max_us":%d}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write,
      e.status, e.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.mean, latency.max))
end
