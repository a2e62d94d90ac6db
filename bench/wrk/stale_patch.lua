-- wrk script for bench/stale_http.py: every request PATCHes one shipment with one If-Match.
--
--   wrk -t T -c C -d Ds -s bench/wrk/stale_patch.lua http://127.0.0.1:PORT -- <path> <if-match>
--
-- With If-Match: * every PATCH is accepted and appends (each body names its thread and a
-- sequence number, so none is a no-op); with an old tag every PATCH is a 412 whose
-- changesSince lists the versions since that tag.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

thread_id = 0
local path, if_match
local sent = 0

function init(args)
  path, if_match = args[1], args[2]
end

function request()
  sent = sent + 1
  local body = string.format('{"customerRemarks": "stale-bench %d %d"}', thread_id, sent)
  local headers = { ["Content-Type"] = "application/merge-patch+json", ["If-Match"] = if_match }
  return wrk.format("PATCH", path, headers, body)
end
