#!/usr/bin/env python3
"""Overload, soak and upstream chaos, on loopback only, bounded in count and time.

    tests/bench/install.sh && tests/bench/overload.py [--phase overload|floor|soak|chaos|all]
        [--duration 20] [--soak-seconds 600]

overload: measures what the gateway serves (wrk, 16 connections, no rate limit), then floods
  it with wrk at 16x the connections from one token while a probe client (another token, one
  request at a time, 50 per second) measures the latency of admitted calls. Reports the flood's
  status mix (200 / 429 rate_limited / 503 overloaded), how fast refusals come back, the probe's
  p50/p99 unloaded, under flood and after it (recovery), requests that hung past the request
  timeout, and the gateway's peak RSS.
floor: the same flood and probe against a bare proxy that refuses the flood's token with a fixed
  429 after a string compare and forwards the probe: the best an HTTP-level refusal can do here.
soak: moderate load (wrk, 4 connections) for --soak-seconds; RSS and open file descriptors of the
  gateway sampled every 10 s, with the first, last and peak values and the growth per minute.
chaos: load on the `fixed` upstream while a second HTTP upstream is stalled (SIGSTOP) and a stdio
  upstream is killed repeatedly: the `fixed` calls must all succeed; the stalled and killed
  upstreams' calls fail with 504/502 and recover.

The gateway runs with the benchmark config of tests/bench/gateway.py (JWT, policy, DLP, SQLite
audit on) plus the limits below. Client, gateway and upstreams share the machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateway as bench  # noqa: E402

# What the flood gets: one token, limited per token; the concurrency cap sheds the rest.
LIMITS = "{perToken: 3000/s, burst: 600}"
MAX_CONCURRENT = 64
REQUEST_TIMEOUT_S = 30

STATUS_LUA = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
%s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, k .. "=" .. v) end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%s\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, table.concat(parts, ",")))
end
"""


def flood(url: str, token: str, connections: int, duration: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(STATUS_LUA % (bench.CALL, f'wrk.headers["Authorization"] = "Bearer {token}"'))
    out = subprocess.run([bench.WRK, "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", f"{REQUEST_TIMEOUT_S}s", "-s", script.name, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    fields = line.split()
    requests, micros, errors, p50, p99, worst = map(int, fields[1:7])
    statuses = dict((int(k), int(v)) for k, v in (p.split("=") for p in fields[7].split(",") if p)) if len(fields) > 7 else {}
    return {"rps": requests / (micros / 1e6), "requests": requests, "socket_errors": errors, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "max_ms": worst / 1000, "statuses": statuses}


class Probe(threading.Thread):
    """One request at a time at a fixed pace, on its own token; latency per answered status."""

    def __init__(self, base_url: str, token: str, tool: str = "echo", per_second: int = 50) -> None:
        super().__init__(daemon=True)
        self.host, self.port = base_url.removeprefix("http://").split(":")
        self.token, self.tool, self.interval = token, tool, 1 / per_second
        self.samples: list[tuple[float, int, float]] = []  # (at, status, latency_ms)
        self.running = True

    def call(self, connection: http.client.HTTPConnection) -> int:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": self.tool, "arguments": {"text": "probe"}}})
        connection.request("POST", "/mcp", body, {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
        response = connection.getresponse()
        response.read()
        return response.status

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, int(self.port), timeout=REQUEST_TIMEOUT_S + 5)
        while self.running:
            started = time.monotonic()
            try:
                status = self.call(connection)
            except (OSError, http.client.HTTPException):
                status = 0  # hung past the timeout, or the connection failed
                connection.close()
                connection = http.client.HTTPConnection(self.host, int(self.port), timeout=REQUEST_TIMEOUT_S + 5)
            elapsed = time.monotonic() - started
            self.samples.append((started, status, elapsed * 1000))
            time.sleep(max(0.0, self.interval - elapsed))

    def window(self, start: float, end: float) -> list[tuple[float, int, float]]:
        return [s for s in self.samples if start <= s[0] < end]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q))]


def summary(samples: list[tuple[float, int, float]]) -> dict:
    ok = [latency for _, status, latency in samples if status == 200]
    statuses: dict[int, int] = {}
    for _, status, _ in samples:
        statuses[status] = statuses.get(status, 0) + 1
    return {"count": len(samples), "statuses": statuses, "p50_ms": percentile(ok, 0.5), "p99_ms": percentile(ok, 0.99), "max_ms": max(ok, default=float("nan"))}


def rss_and_fds(pid: int) -> tuple[float, int]:
    rss = next(int(l.split()[1]) for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmRSS:"))
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def measure_capacity(duration: int) -> dict:
    """Calls/s the gateway serves (every answer 200) with no rate limit in the way."""
    stack = bench.Stack(max_concurrent=MAX_CONCURRENT)
    try:
        auth = f'wrk.headers["Authorization"] = "Bearer {stack.token()}"'
        bench.wrk(stack.gateway_url, 4, 2, auth)
        return bench.wrk(stack.gateway_url, 16, duration, auth)
    finally:
        stack.close()


def flood_and_probe(base_url: str, flood_token: str, probe_token: str, duration: int, pid: int) -> dict:
    """The probe alone, then beside a 256-connection flood on the flood token, then alone again."""
    probe = Probe(base_url, probe_token)
    probe.start()
    time.sleep(duration)
    unloaded_end = time.monotonic()
    sampler = bench.RssSampler(pid)
    sampler.start()
    flooded = flood(f"{base_url}/mcp", flood_token, 256, duration)
    flood_end = time.monotonic()
    sampler.running = False
    time.sleep(duration)
    probe.running = False
    probe.join()
    recovered_end = time.monotonic()
    first = probe.samples[0][0]
    return {
        "flood": flooded,
        "probe_unloaded": summary(probe.window(first, unloaded_end)),
        "probe_flood": summary(probe.window(unloaded_end + 1, flood_end)),
        "probe_after": summary(probe.window(flood_end + 1, recovered_end)),
        "peak_rss_mib": sampler.peak_kib / 1024,
    }


def report(result: dict) -> None:
    flooded = result["flood"]
    served = flooded["statuses"].get(200, 0)
    print(f"flood: 256 connections, {flooded['rps']:.0f} answers/s; statuses {flooded['statuses']}; socket errors {flooded['socket_errors']}")
    print(f"  served {served / flooded['requests'] * 100:.1f} %, answer latency p50 {flooded['p50_ms']:.2f} ms p99 {flooded['p99_ms']:.2f} ms max {flooded['max_ms']:.1f} ms")
    for name in ["probe_unloaded", "probe_flood", "probe_after"]:
        s = result[name]
        print(f"{name:15} {s['count']:5} calls, statuses {s['statuses']}, admitted p50 {s['p50_ms']:.2f} ms p99 {s['p99_ms']:.2f} ms max {s['max_ms']:.1f} ms")
    print(f"probe p99 under flood / unloaded: {result['probe_flood']['p99_ms'] / result['probe_unloaded']['p99_ms']:.2f}x; peak RSS {result['peak_rss_mib']:.1f} MiB")


def overload(args: argparse.Namespace) -> dict:
    capacity = measure_capacity(args.duration)
    stack = bench.Stack(rate_limiting=LIMITS, max_concurrent=MAX_CONCURRENT)
    try:
        result = flood_and_probe(stack.base_url, stack.token("flood"), stack.token("probe"), args.duration, stack.gateway.pid)
        result["capacity_rps"] = capacity["rps"]
        result["offered_x"] = result["flood"]["rps"] / capacity["rps"]
        print(f"\ncapacity: {capacity['rps']:.0f} req/s (16 connections, no rate limit, {capacity['errors']} errors); the flood's answers are {result['offered_x']:.1f}x that")
        report(result)
        return result
    finally:
        stack.close()


def floor(args: argparse.Namespace) -> dict:
    """The same flood and probe against runtime/examples/bare_proxy.rs, which answers the flood's
    token with a fixed 429 after comparing the Authorization header and forwards the probe's
    calls: the cheapest refusal an HTTP gateway can make. What the probe sees here is the best
    any gateway refusing at the HTTP level can do on these shared cores."""
    stack = bench.Stack(rate_limiting=LIMITS, max_concurrent=MAX_CONCURRENT)
    try:
        flood_token, probe_token = stack.token("flood"), stack.token("probe")
        port = bench.free_port()
        proxy = stack.spawn([bench.RELEASE / "examples" / "bare_proxy", f"127.0.0.1:{port}", stack.direct_url, "--refuse", f"Bearer {flood_token}"])
        base_url = f"http://127.0.0.1:{port}"
        bench.wait_for(f"{base_url}/mcp", "POST")
        result = flood_and_probe(base_url, flood_token, probe_token, args.duration, proxy.pid)
        print("\nfloor: a bare proxy that refuses the flood's token by a string compare")
        report(result)
        return result
    finally:
        stack.close()


def soak(args: argparse.Namespace) -> dict:
    stack = bench.Stack()
    try:
        auth = f'wrk.headers["Authorization"] = "Bearer {stack.token()}"'
        samples = []
        started = time.monotonic()
        chunk = 10
        while time.monotonic() - started < args.soak_seconds:
            result = bench.wrk(stack.gateway_url, 4, chunk, auth)
            rss, fds = rss_and_fds(stack.gateway.pid)
            samples.append({"t": round(time.monotonic() - started), "rss_mib": round(rss, 1), "fds": fds, "rps": round(result["rps"]), "errors": result["errors"], "p99_ms": result["p99_ms"]})
        half = samples[len(samples) // 2:]
        minutes = (half[-1]["t"] - half[0]["t"]) / 60 or 1
        growth = (half[-1]["rss_mib"] - half[0]["rss_mib"]) / minutes
        print(f"\nsoak: {args.soak_seconds} s at 4 connections, {sum(s['rps'] * chunk for s in samples):.0f} calls, errors {sum(s['errors'] for s in samples)}")
        print(f"RSS first {samples[0]['rss_mib']} MiB, last {samples[-1]['rss_mib']} MiB, peak {max(s['rss_mib'] for s in samples)} MiB; growth over the second half {growth:+.2f} MiB/min")
        print(f"fds first {samples[0]['fds']}, last {samples[-1]['fds']}, peak {max(s['fds'] for s in samples)}")
        print(f"throughput first {samples[0]['rps']} req/s, last {samples[-1]['rps']} req/s; p99 first {samples[0]['p99_ms']:.2f} ms, last {samples[-1]['p99_ms']:.2f} ms")
        return {"samples": samples, "rss_growth_mib_per_min": growth}
    finally:
        stack.close()


STDIO_SERVER = r'''
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    method = message["method"]
    if method == "initialize":
        result = {"protocolVersion": message["params"]["protocolVersion"], "capabilities": {"tools": {}}, "serverInfo": {"name": "flaky", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": [{"name": "flaky_echo", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "ok"}]}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\n")
    sys.stdout.flush()
'''


def children(pid: int) -> list[int]:
    """Child processes of every thread of `pid` (a child belongs to the thread that forked it)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def chaos(args: argparse.Namespace) -> dict:
    server = Path(tempfile.mkdtemp(prefix="airlock-chaos-")) / "flaky.py"
    server.write_text(STDIO_SERVER)
    stall_port = bench.free_port()
    stalled = subprocess.Popen([bench.RELEASE / "examples" / "fixed_upstream", f"127.0.0.1:{stall_port}"])
    upstreams = f"""  - {{name: stalls, type: http, url: "http://127.0.0.1:{stall_port}/mcp", timeout: 2s, toolPrefix: "stalls_"}}
  - {{name: flaky, type: stdio, command: ["{sys.executable}", "{server}"], timeout: 2s}}
"""
    stack = bench.Stack(upstreams=upstreams)
    stack.processes.append(stalled)
    try:
        auth = f'wrk.headers["Authorization"] = "Bearer {stack.token()}"'
        stall_probe = Probe(stack.base_url, stack.token("stall-probe"), tool="stalls_echo", per_second=5)
        flaky_probe = Probe(stack.base_url, stack.token("flaky-probe"), tool="flaky_echo", per_second=5)
        stall_probe.start()
        flaky_probe.start()
        stop = threading.Event()
        kills = []

        def disturb() -> None:
            while not stop.is_set():
                stalled.send_signal(signal.SIGSTOP)
                stop.wait(4)
                stalled.send_signal(signal.SIGCONT)
                for child in children(stack.gateway.pid):
                    if "flaky.py" in Path(f"/proc/{child}/cmdline").read_text():
                        os.kill(child, signal.SIGKILL)
                        kills.append(child)
                stop.wait(4)

        disturber = threading.Thread(target=disturb, daemon=True)
        baseline = bench.wrk(stack.gateway_url, 4, args.duration, auth)
        disturber.start()
        loaded = bench.wrk(stack.gateway_url, 4, args.duration, auth)
        stop.set()
        disturber.join()
        stalled.send_signal(signal.SIGCONT)
        time.sleep(5)
        stall_probe.running = flaky_probe.running = False
        stall_probe.join()
        flaky_probe.join()
        recent = time.monotonic() - 3
        result = {
            "fixed_baseline": baseline,
            "fixed_during_chaos": loaded,
            "stalls": summary(stall_probe.samples),
            "flaky": summary(flaky_probe.samples),
            "stalls_recovered": summary([s for s in stall_probe.samples if s[0] > recent]),
            "flaky_recovered": summary([s for s in flaky_probe.samples if s[0] > recent]),
            "stdio_kills": len(kills),
        }
        print(f"\nchaos: {args.duration} s of wrk (4 connections) on `fixed` while `stalls` is SIGSTOPped 4 s in 8 and `flaky` (stdio) is killed every 8 s ({len(kills)} kills)")
        for name in ["fixed_baseline", "fixed_during_chaos"]:
            r = result[name]
            print(f"{name:20} {r['rps']:8.0f} req/s p50 {r['p50_ms']:.3f} ms p99 {r['p99_ms']:.3f} ms errors {r['errors']}")
        for name in ["stalls", "flaky", "stalls_recovered", "flaky_recovered"]:
            s = result[name]
            print(f"{name:20} {s['count']:4} calls, statuses {s['statuses']}, max {s['max_ms']:.0f} ms")
        return result
    finally:
        stack.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["overload", "floor", "soak", "chaos", "all"], default="all")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--soak-seconds", type=int, default=600)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        bench.build_release()
    results = {}
    for phase, run in [("overload", overload), ("floor", floor), ("chaos", chaos), ("soak", soak)]:
        if args.phase in (phase, "all"):
            results[phase] = run(args)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
