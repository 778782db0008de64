-- wrk hook: after the run, print the one line `report record` reads.
-- errors adds socket errors (connect, read, write, timeout) to responses
-- outside 2xx/3xx, which wrk counts apart; detail keeps them apart.
done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(("RESULT ops=%d secs=%.3f bytes=%d p50_us=%d p99_us=%d errors=%d detail=connect:%d,read:%d,write:%d,timeout:%d,status:%d\n"):format(
    summary.requests, secs, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status,
    e.connect, e.read, e.write, e.timeout, e.status))
end
