#!/usr/bin/env python3
"""Gateway benchmark: `tools/call` through the gateway (JWT validation, policy, DLP on) versus
direct to the same upstream, in the same run, with Debian's wrk driving the load; reports
requests/s, p50/p99 latency, CPU per call (per thread too, with its context switches) and the
gateway's peak RSS. Then `resources/read` of a 1 MiB file
from a directory root, served by the gateway itself (path resolution, policy, DLP over the
whole text, JSON encoding).

    tests/bench/install.sh && tests/bench/gateway.py [--duration 10] [--connections 16] [--store redis]

`--store redis` shares the rate limits through the local Redis (127.0.0.1:6379, a key prefix of
the run's own): every call then makes its round trips to Redis, as with several replicas.

The upstream is a fixed-result responder (runtime/examples/fixed_upstream.rs), so the gateway's
own cost shows. A bare pass-through proxy built from the same parts (runtime/examples/
bare_proxy.rs) is measured too: the floor any proxy has here, a second TCP exchange per call.
Client, gateway and upstream share this machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "target" / "release"
WRK = ROOT / ".tools" / "wrk" / "wrk"

LUA = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
%s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""

POLICY = """package airlock.authz
import rego.v1
default allow := false
allow if {
    "mcp.users" in input.groups
    input.tool in {"echo", "search", "stalls_echo", "flaky_echo"}
}
allow if {
    "mcp.users" in input.groups
    input.method == "resources/read"
    startswith(input.resource, "mcp://bench/")
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, method: str = "GET") -> None:
    for _ in range(400):
        try:
            request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None, headers={"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(url)


CALL = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
READ = '{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"mcp://bench/big.md"}}'


def wrk(url: str, connections: int, duration: int, headers: str, threads: int = 1, body: str = CALL) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (body, headers))
    out = subprocess.run([WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "-s", script.name, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    requests, micros, errors, p50, p99 = map(int, line.split()[1:])
    return {"rps": requests / (micros / 1e6), "errors": errors, "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "requests": requests}


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds a process has used so far (`/proc/PID/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def thread_counters(pid: int) -> dict[str, list[int]]:
    """Per thread name (tokio's workers share one): CPU ticks, voluntary and involuntary context
    switches so far (`/proc/PID/task/*`)."""
    totals: dict[str, list[int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat, status = (task / "stat").read_text(), (task / "status").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        switches = {key: int(value) for key, value in (line.split(":", 1) for line in status.splitlines()) if key.endswith("ctxt_switches")}
        counts = [int(fields[11]) + int(fields[12]), switches["voluntary_ctxt_switches"], switches["nonvoluntary_ctxt_switches"]]
        totals[name] = [a + b for a, b in zip(totals.get(name, [0, 0, 0]), counts)]
    return totals


def measured(pid: int, run) -> dict:
    """Runs `run()` (a wrk run) and adds the CPU the process `pid` spent per request to its
    result, and per thread name its CPU and context switches per request."""
    before, threads_before = cpu_seconds(pid), thread_counters(pid)
    result = run()
    after, threads_after = cpu_seconds(pid), thread_counters(pid)
    n = max(result["requests"], 1)
    result["user_us"], result["sys_us"] = ((a - b) * 1e6 / n for a, b in zip(after, before))
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    result["threads"] = {
        name: {"cpu_us": (now[0] - then[0]) * tick_us / n, "voluntary_switches": (now[1] - then[1]) / n, "involuntary_switches": (now[2] - then[2]) / n}
        for name, now in threads_after.items()
        for then in [threads_before.get(name, [0, 0, 0])]
        if now[0] > then[0]
    }
    return result


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.05)


class Stack:
    """The fixed upstream, the development issuer and the gateway, as release binaries, with
    the benchmark config plus `extra` YAML (top-level keys). Stopped by `close()`."""

    def __init__(self, extra: str = "", rate_limiting: str = "{perToken: 1000000/s, burst: 1000000}", max_concurrent: int = 4096, upstreams: str = "", wrap: list | None = None, max_request_size: str = "256Ki") -> None:
        self.work = Path(tempfile.mkdtemp(prefix="airlock-bench-"))
        self.processes: list[subprocess.Popen] = []
        upstream_port, self.idp_port, gateway_port = free_port(), free_port(), free_port()
        self.upstream = self.spawn([RELEASE / "examples" / "fixed_upstream", f"127.0.0.1:{upstream_port}"])
        self.spawn([RELEASE / "airlock", "dev-idp", "--listen", f"127.0.0.1:{self.idp_port}", "--audience", "bench"], stderr=subprocess.DEVNULL)
        wait_for(f"http://127.0.0.1:{self.idp_port}/.well-known/openid-configuration")
        work = self.work
        (work / "policy.rego").write_text(POLICY)
        self.files = files = work / "files"
        files.mkdir()
        line = "The quick brown fox jumps over the lazy dog; contact nobody, rotate nothing.\n"
        (files / "big.md").write_text(line * (1024 * 1024 // len(line)))
        (work / "airlock.yaml").write_text(f"""
version: 1
name: bench
image: {{repository: ghcr.io/acme/airlock, digest: "sha256:{'0' * 64}"}}
auth: {{oidc: {{issuer: "http://127.0.0.1:{self.idp_port}", audience: bench, requiredGroups: [mcp.users]}}}}
policy: {{file: policy.rego}}
audit: {{sqlite: {{path: "{work / 'audit.db'}"}}}}
rateLimiting: {rate_limiting}
server: {{maxConcurrentRequests: {max_concurrent}, maxRequestSize: "{max_request_size}"}}
dlp:
  patterns:
    - {{name: aws-key, regex: 'AKIA[0-9A-Z]{{16}}', examples: {{match: [AKIAABCDEFGHIJKLMNOP]}}}}
    - {{name: email, regex: '(?i)[a-z0-9._%+-]{{1,64}}@[a-z0-9.-]+\\.[a-z]{{2,}}', examples: {{match: [a@example.com]}}}}
    - {{name: bearer, regex: '(?i)\\bbearer\\s+[a-z0-9._~+/-]{{16,}}', examples: {{match: [Bearer abcdefghijklmnopqrst]}}}}
    - {{name: private-key, regex: '-----BEGIN [A-Z ]*PRIVATE KEY-----', examples: {{match: ["-----BEGIN RSA PRIVATE KEY-----"]}}}}
roots:
  - {{name: bench, type: fs, virtual: "mcp://bench/", real: "{files}", volume: {{claimName: bench}}, maxFileSize: 2Mi}}
upstreams:
  - {{name: fixed, type: http, url: "http://127.0.0.1:{upstream_port}/mcp", timeout: 10s}}
{upstreams}
{extra}
""")
        subprocess.run([RELEASE / "airlockc", "build", "airlock.yaml", "-o", "deploy"], cwd=work, check=True, capture_output=True)
        self.log = open(work / "gateway.log", "w")
        self.gateway = self.spawn([*(wrap or []), RELEASE / "airlock", "serve", "--config", work / "deploy/runtime/airlock.json", "--listen", f"127.0.0.1:{gateway_port}"], stderr=self.log)
        wait_for(f"http://127.0.0.1:{gateway_port}/ready")
        self.direct_url, self.gateway_url = f"http://127.0.0.1:{upstream_port}/mcp", f"http://127.0.0.1:{gateway_port}/mcp"
        self.base_url = f"http://127.0.0.1:{gateway_port}"

    def spawn(self, argv: list, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(argv, **kwargs)
        self.processes.append(process)
        return process

    def token(self, subject: str = "bench") -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{self.idp_port}/token", data=json.dumps({"sub": subject, "groups": ["mcp.users"]}).encode(), headers={"content-type": "application/json"})
        return json.load(urllib.request.urlopen(request))["access_token"]

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


def build_release() -> None:
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "airlock", "-p", "airlockc", "--features", "dev-idp", "--bins", "--examples"], cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--moderate", type=int, default=2, help="connections for the latency comparison at moderate load")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--profile", metavar="FILE", help="also sample the gateway with `perf record -e cpu-clock` into FILE")
    parser.add_argument("--store", choices=["none", "redis"], default="none", help="share the rate limits through the local Redis (127.0.0.1:6379)")
    args = parser.parse_args()
    if not args.no_build:
        build_release()
    limits = "{perToken: 1000000/s, burst: 1000000}"
    if args.store == "redis":
        limits = "{perToken: 1000000/s, perIp: 1000000/s, burst: 1000000, store: {redis: {url: \"redis://127.0.0.1:6379/0\", keyPrefix: \"airlock-bench:%d:\"}}}" % os.getpid()
    stack = Stack(rate_limiting=limits)
    try:
        gateway, files = stack.gateway, stack.files
        token = stack.token()
        auth = f'wrk.headers["Authorization"] = "Bearer {token}"'
        direct_url, gateway_url = stack.direct_url, stack.gateway_url
        wrk(gateway_url, 4, 2, auth)
        wrk(direct_url, 4, 2, "")
        results = {}
        results["direct"] = measured(stack.upstream.pid, lambda: wrk(direct_url, args.connections, args.duration, ""))
        # The floor: the same hyper server and pooled client, forwarding and nothing else.
        bare_port = free_port()
        bare = stack.spawn([RELEASE / "examples" / "bare_proxy", f"127.0.0.1:{bare_port}", direct_url])
        bare_url = f"http://127.0.0.1:{bare_port}/mcp"
        wait_for(bare_url, "POST")
        wrk(bare_url, 4, 2, "")
        results["bare_proxy"] = measured(bare.pid, lambda: wrk(bare_url, args.connections, args.duration, ""))
        bare.terminate()
        sampler = RssSampler(gateway.pid)
        sampler.start()
        perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-o", args.profile, "-p", str(gateway.pid)], stderr=subprocess.DEVNULL) if args.profile else None
        results["gateway"] = measured(gateway.pid, lambda: wrk(gateway_url, args.connections, args.duration, auth))
        if perf:
            perf.send_signal(2)
            perf.wait()
        sampler.running = False
        results["direct_moderate"] = wrk(direct_url, args.moderate, args.duration, "")
        results["gateway_moderate"] = wrk(gateway_url, args.moderate, args.duration, auth)
        size = (files / "big.md").stat().st_size
        results["read_1mib"] = wrk(gateway_url, 4, args.duration, auth, body=READ)
        d, b, g, dm, gm = results["direct"], results["bare_proxy"], results["gateway"], results["direct_moderate"], results["gateway_moderate"]
        store = "rate limits in Redis" if args.store == "redis" else "rate limits in the gateway's memory"
        print(f"\ntools/call, {args.duration}s per run, wrk on the same {os.cpu_count()}-core machine, {store}")
        print(f"{'':34} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for name, r in [(f"direct, c={args.connections}", d), (f"bare proxy, c={args.connections}", b), (f"gateway, c={args.connections}", g), (f"direct, c={args.moderate}", dm), (f"gateway, c={args.moderate}", gm)]:
            print(f"{name:34} {r['rps']:>10.0f} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['errors']:>7}")
        print(f"\ngateway throughput: {100 * g['rps'] / d['rps']:.0f} % of direct at c={args.connections}")
        print(f"bare proxy (forwarding only, no gateway work): {100 * b['rps'] / d['rps']:.0f} % of direct; the gateway does {100 * g['rps'] / b['rps']:.0f} % of the bare proxy")
        print(f"CPU per call at c={args.connections}, user + system: upstream {d['user_us']:.0f} + {d['sys_us']:.0f} us, bare proxy {b['user_us']:.0f} + {b['sys_us']:.0f} us, gateway {g['user_us']:.0f} + {g['sys_us']:.0f} us")
        print(f"added latency at c={args.moderate}: p50 +{gm['p50_ms'] - dm['p50_ms']:.3f} ms, p99 +{gm['p99_ms'] - dm['p99_ms']:.3f} ms")
        print(f"gateway peak RSS under load: {sampler.peak_kib / 1024:.1f} MiB")
        for label, r in [("bare proxy", b), ("gateway", g)]:
            per_thread = ", ".join(f"{name} {t['cpu_us']:.1f} us ({t['voluntary_switches']:.3f} + {t['involuntary_switches']:.3f} switches)" for name, t in sorted(r["threads"].items(), key=lambda item: -item[1]["cpu_us"]))
            print(f"{label} threads, per call (CPU, voluntary + involuntary context switches): {per_thread}")
        r = results["read_1mib"]
        print(f"\nresources/read of a {size / 1048576:.2f} MiB file through the gateway, c=4: {r['rps']:.0f} req/s = {r['rps'] * size / 1048576:.0f} MiB/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, errors {r['errors']}")
        print(json.dumps(results))
    finally:
        stack.close()


if __name__ == "__main__":
    main()
