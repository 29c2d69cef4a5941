-- wrk's end-of-run summary as one line bench/web.py reads (latencies in microseconds).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("cfp-summary p50=%d p95=%d p99=%d requests=%d bytes=%d duration=%d status=%d socket=%d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests,
    summary.bytes, summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
