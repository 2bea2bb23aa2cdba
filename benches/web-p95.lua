-- wrk script of benches/web.sh: exactly 100 requests on one connection (the caller warms up
-- first); prints "p95 <p50> | <p95> | <max> |" in milliseconds from wrk's latency histogram.
local seen = 0
local measured = 100

function response(status, headers, body)
    seen = seen + 1
    if status ~= 200 then
        io.stderr:write("status " .. status .. "\n")
    end
    if seen >= measured then
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    io.write(string.format("p95 %.1f ms | %.1f ms | %.1f ms | %d requests |\n",
        latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency.max / 1000,
        summary.requests))
end
