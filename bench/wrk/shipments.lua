-- wrk script for the shipment benchmarks (bench/README.md): loads that collide like real traffic.
--
--   wrk --latency -t T -c C -d Ds -s bench/wrk/shipments.lua http://127.0.0.1:PORT -- \
--       mode=<mode> ids=<ids-file> seed=<base seed> [offset=<first thread id>] \
--       [partitions=<threads over all wrk processes>] [auth=<Authorization value>] \
--       [tag=<run tag>] [merge=1] [groups=weight,remarks,dates,address] [quantiles=1] \
--       [tags=<If-Match file>]
--
-- (bench/wrk_load.py builds these; quantiles=1 makes done() print latency quantiles, which
-- it merges when two wrk processes drive two servers at once.)
--
-- Modes:
--   get            GET a shipment chosen uniformly at random from the ids file
--   patch          PATCH with If-Match: * a shipment chosen uniformly at random
--   patch-stale    PATCH a shipment chosen uniformly at random with If-Match: the tag on the
--                  same line of the tags file (one the shipment has moved past): every answer
--                  should be 412, and nothing is written
--   get-partitioned, patch-partitioned
--                  the old best case: thread i walks its own slice of the ids round-robin,
--                  so two writes in flight almost never name the same shipment
--   rmw            read-modify-write: GET a random shipment, PATCH it with If-Match: <the
--                  ETag read> and weightLbs = (weightLbs read) + 1; on 412 GET and PATCH the
--                  same shipment again until it succeeds. Run it with one connection per
--                  thread (-t C -c C): each thread is one client.
--   rmw-fields     as rmw, but each client edits its own field group (thread id modulo the
--                  groups): weight (weightLbs + 1), remarks ("rmw N" -> "rmw N+1"), dates
--                  (requestedPickupDate + 1 day, deliveryDate = pickup + 3 days) or address
--                  (pickupAddress.streetAddress1 "N Bench Street" -> "N+1 Bench Street").
--                  merge=1 adds "Prefer: conflict=merge" to every PATCH.
--
-- Every thread seeds its own generator with seed + its thread id (offset + its index), so
-- threads (and two wrk processes started with different offsets) never walk in step.
-- PATCH bodies under If-Match: * carry the run tag, the thread id and a sequence number, so
-- every accepted PATCH is a real write. The RMW modes count, per shipment and field group,
-- the PATCHes answered 200 and those whose outcome is unknown (a 5xx, a lost connection or a
-- PATCH still in flight when wrk stopped); bench/contention.py compares them with the
-- counters the shipments hold afterwards (lost updates). done() prints one line:
-- BENCH_JSON {...}.

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local clock_buffer = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock_buffer)
  return tonumber(clock_buffer.tv_sec) * 1000 + tonumber(clock_buffer.tv_nsec) / 1e6
end

-- Main state: the threads, so done() can collect their counters.
local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

-- Thread state. Globals (not locals) are what done() reads back with thread:get().
thread_id = 0
statuses = { ok = 0, s412 = 0, s5xx = 0, other = 0 }
successes = {} -- ["<index>.<group>"] = PATCHes answered 200
unknown = {} -- ["<index>.<group>"] = PATCHes whose outcome is unknown
conflicts = 0 -- PATCHes answered 412
parse_failures = 0 -- GET answers the client could not read a counter or ETag from
update_ms = {} -- [tenths of a millisecond] = updates that took that long (first GET to 200)
inflight = nil -- "get" or "patch" while a request has no answer yet
target = nil -- index of the shipment being updated
group = "weight"

local mode, ids, tags, get_headers, patch_headers, run_tag, partition_first, partition_size
local next_index, sent, merge = 0, 0, false
quantiles_wanted = false
local etag, counter_read, started_ms

local GROUPS = { "weight", "remarks", "dates", "address" }
local EPOCH_DAYS -- days_from_civil(2020, 1, 1): the dates counter is days since then

-- Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
local function days_from_civil(y, m, d)
  if m <= 2 then
    y = y - 1
  end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then
    y = y + 1
  end
  return string.format("%04d-%02d-%02d", y, m, d)
end

EPOCH_DAYS = days_from_civil(2020, 1, 1)

-- Each group: how to read its counter from a GET body, and the merge patch that adds one.
local READ = {
  weight = function(body)
    return tonumber(body:match('"weightLbs"%s*:%s*(%d+)'))
  end,
  remarks = function(body)
    return tonumber(body:match('"customerRemarks"%s*:%s*"rmw (%d+)"'))
  end,
  dates = function(body)
    local y, m, d = body:match('"requestedPickupDate"%s*:%s*"(%d+)-(%d+)-(%d+)"')
    if y == nil then
      return nil
    end
    return days_from_civil(tonumber(y), tonumber(m), tonumber(d)) - EPOCH_DAYS
  end,
  address = function(body)
    return tonumber(body:match('"pickupAddress"%s*:%s*{[^}]-"streetAddress1"%s*:%s*"(%d+) Bench'))
  end,
}

local WRITE = {
  weight = function(n)
    return string.format('{"weightLbs":%d}', n)
  end,
  remarks = function(n)
    return string.format('{"customerRemarks":"rmw %d"}', n)
  end,
  dates = function(n)
    return string.format(
      '{"requestedPickupDate":"%s","deliveryDate":"%s"}',
      civil_from_days(EPOCH_DAYS + n), civil_from_days(EPOCH_DAYS + n + 3)
    )
  end,
  address = function(n)
    return string.format(
      '{"pickupAddress":{"streetAddress1":"%d Bench Street","city":"Austin",' ..
      '"state":"TX","postalCode":"78701"}}', n
    )
  end,
}

local function add(tbl, key, amount)
  tbl[key] = (tbl[key] or 0) + (amount or 1)
end

-- The ids, held as one string when they all have one length (canonical UUIDs do).
-- A table of a million strings is a million objects for Lua's collector to mark
-- and sweep while requests are timed: on a store of 1,000,000 shipments that
-- alone put tens of milliseconds into the measured p99 of a GET (bench/README.md).
local function compact(list)
  local width = list[1] and #list[1] or 0
  for i = 2, #list do
    if #list[i] ~= width then
      return { n = #list, at = function(_, i) return list[i] end }
    end
  end
  local blob = table.concat(list)
  return {
    n = #list,
    at = function(_, i)
      local first = (i - 1) * width + 1
      return blob:sub(first, first + width - 1)
    end,
  }
end

local function read_lines(path)
  local all = {}
  for line in io.lines(path) do
    if #line > 0 then
      all[#all + 1] = line
    end
  end
  return compact(all)
end

function init(args)
  local options = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key then
      options[key] = value
    end
  end
  mode = options.mode or "get"
  thread_id = (tonumber(options.offset) or 0) + (thread_index or 0)
  math.randomseed((tonumber(options.seed) or 1) + thread_id)
  run_tag = options.tag or ""
  merge = options.merge == "1"
  ids = read_lines(options.ids)
  if mode == "patch-stale" then
    tags = read_lines(options.tags)
    if tags.n ~= ids.n then
      error(string.format("%d ids but %d tags", ids.n, tags.n))
    end
  end
  collectgarbage("collect")
  local partitions = tonumber(options.partitions) or 1
  partition_first = math.floor(ids.n * thread_id / partitions)
  partition_size = math.floor(ids.n * (thread_id + 1) / partitions) - partition_first
  if partition_size <= 0 then
    partition_first, partition_size = 0, ids.n
  end
  if options.groups and #options.groups > 0 then
    GROUPS = {}
    for name in options.groups:gmatch("[^,]+") do
      GROUPS[#GROUPS + 1] = name
    end
  end
  group = mode == "rmw-fields" and GROUPS[thread_id % #GROUPS + 1] or "weight"
  quantiles_wanted = options.quantiles == "1"
  get_headers, patch_headers = {}, { ["Content-Type"] = "application/merge-patch+json" }
  if options.auth and #options.auth > 0 then
    get_headers["Authorization"] = options.auth
    patch_headers["Authorization"] = options.auth
  end
  if mode == "patch" or mode == "patch-partitioned" then
    patch_headers["If-Match"] = "*"
  end
  if merge then
    patch_headers["Prefer"] = "conflict=merge"
  end
end

local function path_of(index)
  return "/v1/shipments/" .. ids:at(index)
end

local function tagged_patch(index)
  sent = sent + 1
  local body = string.format(
    '{"weightLbs":%d,"customerRemarks":"bench %s t%d n%d"}',
    sent % 100000 + 1, run_tag, thread_id, sent
  )
  return wrk.format("PATCH", path_of(index), patch_headers, body)
end

local function rmw_request()
  if inflight == "patch" then
    -- The last PATCH got no answer (a socket error or time-out): it may have been applied.
    add(unknown, target .. "." .. group)
  end
  if inflight ~= nil or etag == nil then
    -- Next is a GET: the first step of an update, or the retry after a 412 or an error.
    if target == nil then
      target = math.random(ids.n)
      started_ms = now_ms()
    end
    inflight = "get"
    return wrk.format("GET", path_of(target), get_headers)
  end
  inflight = "patch"
  patch_headers["If-Match"] = etag
  local body = WRITE[group](counter_read + 1)
  etag = nil
  return wrk.format("PATCH", path_of(target), patch_headers, body)
end

function request()
  if mode == "rmw" or mode == "rmw-fields" then
    return rmw_request()
  end
  if mode == "get" then
    return wrk.format("GET", path_of(math.random(ids.n)), get_headers)
  end
  if mode == "patch" then
    return tagged_patch(math.random(ids.n))
  end
  if mode == "patch-stale" then
    local index = math.random(ids.n)
    patch_headers["If-Match"] = tags:at(index)
    return tagged_patch(index)
  end
  local index = partition_first + next_index % partition_size + 1
  next_index = next_index + 1
  if mode == "patch-partitioned" then
    return tagged_patch(index)
  end
  return wrk.format("GET", path_of(index), get_headers)
end

local function count_status(status)
  if status >= 200 and status < 300 then
    statuses.ok = statuses.ok + 1
  elseif status == 412 then
    statuses.s412 = statuses.s412 + 1
  elseif status >= 500 then
    statuses.s5xx = statuses.s5xx + 1
  else
    statuses.other = statuses.other + 1
  end
end

function response(status, response_headers, body)
  count_status(status)
  if mode ~= "rmw" and mode ~= "rmw-fields" then
    return
  end
  local was = inflight
  inflight = nil
  if was == "get" then
    if status == 200 then
      etag = response_headers["etag"] or response_headers["ETag"]
      counter_read = READ[group](body)
      if etag == nil or counter_read == nil then
        parse_failures = parse_failures + 1
        etag = nil
      end
    end
    -- Any other answer: GET the same shipment again.
    return
  end
  if was ~= "patch" then
    return
  end
  local key = target .. "." .. group
  if status == 200 then
    add(successes, key)
    add(update_ms, math.floor((now_ms() - started_ms) * 10))
    target = nil
  elseif status == 412 then
    conflicts = conflicts + 1 -- read the same shipment again and retry
  elseif status >= 500 then
    add(unknown, key) -- maybe applied, maybe not; retry the same shipment
  else
    target = nil -- refused for another reason (counted as an error): next shipment
  end
end

local function json_table(tbl)
  local parts = {}
  for key, value in pairs(tbl) do
    parts[#parts + 1] = string.format('"%s":%d', tostring(key), value)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function thread_quantiles_wanted()
  return #threads > 0 and threads[1]:get("quantiles_wanted") == true
end

function done(summary, latency, requests)
  local total = { ok = 0, s412 = 0, s5xx = 0, other = 0 }
  local all_successes, all_unknown, all_update_ms = {}, {}, {}
  local all_conflicts, all_parse_failures, in_flight_at_end = 0, 0, 0
  for _, thread in ipairs(threads) do
    for key, value in pairs(thread:get("statuses")) do
      total[key] = total[key] + value
    end
    for key, value in pairs(thread:get("successes")) do
      add(all_successes, key, value)
    end
    for key, value in pairs(thread:get("unknown")) do
      add(all_unknown, key, value)
    end
    for key, value in pairs(thread:get("update_ms")) do
      add(all_update_ms, key, value)
    end
    if thread:get("inflight") == "patch" then
      -- Still in flight when wrk stopped: the server may yet apply it (that is normal;
      -- counted apart from the PATCHes whose answer was lost or a 5xx).
      add(all_unknown, thread:get("target") .. "." .. thread:get("group"))
      in_flight_at_end = in_flight_at_end + 1
    end
    all_conflicts = all_conflicts + thread:get("conflicts")
    all_parse_failures = all_parse_failures + thread:get("parse_failures")
  end
  -- With quantiles=1 (two wrk processes at once), latency quantiles at 0.5 % steps and every
  -- 0.1 % from 97.5 %, so that bench/wrk_load.py can merge the processes' distributions.
  -- (Each percentile() walks wrk's histogram, so they are only computed when wanted.)
  local quantiles = {}
  if thread_quantiles_wanted() then
    for i = 1, 195 do
      quantiles[#quantiles + 1] = string.format("[%.1f,%d]", i / 2, latency:percentile(i / 2))
    end
    for i = 976, 999 do
      quantiles[#quantiles + 1] = string.format("[%.1f,%d]", i / 10, latency:percentile(i / 10))
    end
    quantiles[#quantiles + 1] = string.format("[100.0,%d]", latency.max)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%.1f,"p99_us":%.1f,' ..
    '"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"statuses":%s,"successes":%s,"unknown":%s,"conflicts":%d,' ..
    '"in_flight_at_end":%d,"parse_failures":%d,"update_ms_tenths":%s,' ..
    '"latency_quantiles_us":[%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect, errors.read, errors.write, errors.timeout,
    json_table(total), json_table(all_successes), json_table(all_unknown), all_conflicts,
    in_flight_at_end, all_parse_failures, json_table(all_update_ms), table.concat(quantiles, ",")
  ))
end
