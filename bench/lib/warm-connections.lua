-- wrk -s bench/lib/warm-connections.lua: every connection is opened and accepted before anything is measured.
--
-- Why: wrk opens all its connections at once. The kernel completes every handshake by itself and queues the
-- connections in the server's accept queue; a Node server (libuv 1.46, Node 20) then accepts ONE connection per
-- event-loop turn (libuv PR #3696, "unix: don't accept() connections in a loop"), and a turn takes several ms
-- when the server is already serving the connections it accepted first. With 200 connections that took
-- 640-910 ms here, and each connection's first request waited in the accept queue all that time. Those ~200 slow
-- first requests are then multiplied by wrk itself: at the end of a run it "corrects" for coordinated omission
-- by adding, for every latency L above the expected interval, synthetic samples at L - interval, L - 2 interval,
-- and so on, so a few hundred accept-queue waits became thousands of samples and the p99 (bench/README.md, "The
-- tail at 200 connections").
--
-- How: once a script defines delay(), wrk calls it before every request and sends the request that many ms
-- later; the request's latency clock starts when it is sent, after the delay. All connections connect and
-- become writable at the start, so the first N calls are the first requests of the N connections of this wrk
-- thread: they wait 1000 ms, during which the idle server accepts every queued connection. Every later call
-- returns 0 and the load is wrk's usual closed loop. N comes from the environment (BENCH_WARM_CONNECTIONS, set
-- by bench/lib/load.mjs): connections per wrk thread, as each thread has its own Lua state and its own share of
-- the connections. The run is one second longer than what is measured, and load.mjs divides the requests by
-- the measured time, not wrk's whole run.
--
-- Cost: with delay() defined, wrk makes one Lua call and one 0 ms timer per request; that is load-generator
-- CPU, the same for every contender. A connection whose handshake took over a second (a dropped SYN) would
-- find the N calls used up and start at once, and one second request somewhere would wait 1000 ms instead:
-- not measured as latency, a little less throughput.

local warm = tonumber(os.getenv("BENCH_WARM_CONNECTIONS") or "")
if warm == nil or warm < 1 then
  error("warm-connections.lua: BENCH_WARM_CONNECTIONS must be the number of connections per wrk thread")
end

local WAIT_MS = 1000
local calls = 0

function delay()
  if calls < warm then
    calls = calls + 1
    return WAIT_MS
  end
  return 0
end
