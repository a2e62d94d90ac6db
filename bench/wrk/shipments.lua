-- wrk script for the shipment benchmarks: GET, or PATCH with If-Match: *, on seeded shipments.
--
--   wrk --latency -t T -c C -d Ds -s bench/wrk/shipments.lua http://127.0.0.1:PORT \
--       -- <get|patch> <ids-file> <T> [authorization header value] [run tag]
--
-- Thread i of T walks its own slice of the ids (the i-th T-th) round-robin, so two threads
-- never PATCH the same shipment, and a thread's requests in flight name consecutive ids:
-- the load measures appends, not lost races (412s would show up as non-2xx answers). Every PATCH body differs from the one before, so every
-- accepted PATCH appends exactly one event. done() prints one machine-readable line.

local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local mode, ids, next_index, sent, my_index, run_tag
local headers = {}

function init(args)
  mode = args[1]
  local all = {}
  for line in io.lines(args[2]) do
    if #line > 0 then
      all[#all + 1] = line
    end
  end
  local threads = tonumber(args[3]) or 1
  my_index = thread_index or 0
  ids = {}
  local first = math.floor(#all * my_index / threads) + 1
  local last = math.floor(#all * (my_index + 1) / threads)
  for i = first, last do
    ids[#ids + 1] = all[i]
  end
  if #ids == 0 then
    ids = all
  end
  next_index = 0
  sent = 0
  run_tag = args[5] or ""
  if args[4] ~= nil and #args[4] > 0 then
    headers["Authorization"] = args[4]
  end
  if mode == "patch" then
    headers["If-Match"] = "*"
    headers["Content-Type"] = "application/merge-patch+json"
  end
end

function request()
  local path = "/v1/shipments/" .. ids[next_index % #ids + 1]
  next_index = next_index + 1
  sent = sent + 1
  if mode == "patch" then
    local body = string.format(
      '{"weightLbs":%d,"customerRemarks":"bench %s t%d n%d"}',
      sent % 100000 + 1, run_tag, my_index, sent
    )
    return wrk.format("PATCH", path, headers, body)
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%.1f,"p99_us":%.1f,' ..
    '"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect, errors.read, errors.write, errors.timeout
  ))
end
