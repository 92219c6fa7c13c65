#!/usr/bin/env python3
"""Instructions per `tools/call` in the gateway, counted by `valgrind --tool=callgrind`:
repeatable whatever else the machine is doing, where wall-clock figures on 2 shared cores are
not. The gateway runs under callgrind twice, serving SMALL and then LARGE calls (2 connections,
keep-alive); the difference divided by LARGE - SMALL is the cost of one call, start-up and
shutdown cancelled out. The same difference of the calls callgrind saw into the allocator's
allocation functions (mimalloc's, or the C library's for code that uses it; calls from outside
the allocator) is the allocations per call. The bare forwarding proxy of the gateway benchmark
(runtime/examples/bare_proxy.rs) is measured the same way, for the ratio.

    tests/bench/install.sh && tests/bench/instructions.py [--small 200] [--large 1200] [--no-build] [--store redis] [--no-bare]

Release binaries from target/release (as tests/bench/gateway.py builds them).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).parent))
import gateway as bench  # noqa: E402


def drive(url: str, token: str, calls: int, connections: int = 2) -> None:
    target = urlparse(url)
    per = calls // connections

    def worker() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        for _ in range(per):
            conn.request("POST", target.path, body=bench.CALL, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# mimalloc's entry points that Rust's `GlobalAlloc` reaches: one call is one allocation
# (a `realloc` counts as one: it may move the block).
ALLOCATING = re.compile(r"^(?:mi_malloc|mi_zalloc|mi_calloc|mi_realloc|malloc|calloc|realloc)(?:_aligned)?$")


def allocations(text: str) -> int:
    """Calls into mimalloc's allocation functions from outside the allocator, summed over a
    callgrind output file (names are given once as `(id) name`, then referred to by id)."""
    names: dict[str, str] = {}
    caller = callee = ""
    total = 0

    def resolve(spec: str) -> str:
        match = re.match(r"\((\d+)\)(?: (.*))?", spec)
        if not match:
            return spec
        ident, name = match.groups()
        if name:
            names[ident] = name
        return names.get(ident, "")

    for line in text.splitlines():
        if line.startswith("fn="):
            caller = resolve(line[3:])
        elif line.startswith("cfn="):
            callee = resolve(line[4:])
        elif line.startswith("calls=") and ALLOCATING.match(callee) and not caller.startswith(("mi_", "_mi_")):
            total += int(line[6:].split()[0])
    return total


def instructions(calls: int, limits: str) -> tuple[int, int]:
    out = Path(tempfile.mkdtemp(prefix="airlock-callgrind-")) / "callgrind.out"
    stack = bench.Stack(rate_limiting=limits, wrap=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    try:
        token = stack.token()
        drive(stack.gateway_url, token, 20)  # warm: keys fetched, caches filled
        drive(stack.gateway_url, token, calls)
        stack.gateway.send_signal(signal.SIGTERM)
        stack.gateway.wait(timeout=120)
    finally:
        stack.close()
    text = out.read_text(errors="replace")
    totals = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    return int(totals.group(1)), allocations(text)


def bare_instructions(calls: int, limits: str) -> tuple[int, int]:
    """The same count for the bare forwarding proxy in front of the same upstream."""
    out = Path(tempfile.mkdtemp(prefix="airlock-callgrind-bare-")) / "callgrind.out"
    stack = bench.Stack(rate_limiting=limits)
    try:
        port = bench.free_port()
        proxy = stack.spawn(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                             bench.RELEASE / "examples" / "bare_proxy", f"127.0.0.1:{port}", stack.direct_url],
                            stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/mcp"
        bench.wait_for(url, "POST")
        drive(url, "unused", 20)
        drive(url, "unused", calls)
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=120)
    finally:
        stack.close()
    text = out.read_text(errors="replace")
    totals = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    return int(totals.group(1)), allocations(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=1200)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--store", choices=["none", "redis"], default="none")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare proxy")
    args = parser.parse_args()
    if not args.no_build:
        bench.build_release()
    limits = "{perToken: 1000000/s, burst: 1000000}"
    if args.store == "redis":
        limits = "{perToken: 1000000/s, perIp: 1000000/s, burst: 1000000, store: {redis: {url: \"redis://127.0.0.1:6379/0\", keyPrefix: \"airlock-bench:%d:\"}}}" % os.getpid()
    small, small_allocs = instructions(args.small, limits)
    large, large_allocs = instructions(args.large, limits)
    per_call = (large - small) / (args.large - args.small)
    allocs_per_call = (large_allocs - small_allocs) / (args.large - args.small)
    print(f"gateway instructions per tools/call (callgrind, store {args.store}): {per_call:,.0f} "
          f"({small:,} for {args.small} calls, {large:,} for {args.large})")
    print(f"gateway allocations per tools/call: {allocs_per_call:,.1f} "
          f"({small_allocs:,} for {args.small} calls, {large_allocs:,} for {args.large})")
    if args.no_bare:
        return
    bare_small, bare_small_allocs = bare_instructions(args.small, limits)
    bare_large, bare_large_allocs = bare_instructions(args.large, limits)
    bare = (bare_large - bare_small) / (args.large - args.small)
    bare_allocs = (bare_large_allocs - bare_small_allocs) / (args.large - args.small)
    print(f"bare proxy per call: {bare:,.0f} instructions, {bare_allocs:,.1f} allocations; "
          f"the gateway does {per_call / bare:.1f}x the instructions")


if __name__ == "__main__":
    main()
