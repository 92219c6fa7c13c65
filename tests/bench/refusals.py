#!/usr/bin/env python3
"""What a refusal costs the gateway, against what the bare proxy spends forwarding a call:
issue 19's target is at most 2x. wrk (16 connections) drives the gateway of
tests/bench/gateway.py (JWT, policy, DLP, SQLite audit, logs and metrics on) with calls that it
refuses before reading their bodies, and the gateway's CPU per answer is read from /proc:

- 429 `rate_limited`: a valid token whose rate is spent (`rateLimiting.perToken: 1/s`);
- 401: a token the issuer never signed;
- 413 `payload_too_large`: a body over `server.maxRequestSize` (64 bytes here), refused from
  its declared length.

A served `tools/call` and the bare proxy's forwarded call are measured in the same run.

    tests/bench/install.sh && tests/bench/refusals.py [--duration 8] [--no-build]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gateway as bench  # noqa: E402

CONNECTIONS = 16
UNSIGNED = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"


def answers(stack: bench.Stack, token: str, duration: int) -> dict:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"'
    bench.wrk(stack.gateway_url, 4, 1, auth)
    return bench.measured(stack.gateway.pid, lambda: bench.wrk(stack.gateway_url, CONNECTIONS, duration, auth))


def bare_call(stack: bench.Stack, duration: int) -> dict:
    port = bench.free_port()
    bare = stack.spawn([bench.RELEASE / "examples" / "bare_proxy", f"127.0.0.1:{port}", stack.direct_url], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    bench.wait_for(url, "POST")
    bench.wrk(url, 4, 1, "")
    try:
        return bench.measured(bare.pid, lambda: bench.wrk(url, CONNECTIONS, duration, ""))
    finally:
        bare.terminate()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        bench.build_release()
    results = {}
    stack = bench.Stack()
    try:
        results["bare proxy, forwarded call"] = bare_call(stack, args.duration)
        results["gateway, served tools/call"] = answers(stack, stack.token(), args.duration)
    finally:
        stack.close()
    stack = bench.Stack(rate_limiting="{perToken: 1/s, burst: 1}", max_request_size="64")
    try:
        # The call body is over 64 bytes: every call of this stack is refused with 413 first.
        results["gateway, 413 payload_too_large"] = answers(stack, stack.token(), args.duration)
    finally:
        stack.close()
    stack = bench.Stack(rate_limiting="{perToken: 1/s, burst: 1}")
    try:
        results["gateway, 429 rate_limited"] = answers(stack, stack.token(), args.duration)
        results["gateway, 401 unsigned token"] = answers(stack, UNSIGNED, args.duration)
    finally:
        stack.close()
    bare = results["bare proxy, forwarded call"]
    floor = bare["user_us"] + bare["sys_us"]
    print(f"\n{CONNECTIONS} connections, {args.duration}s each, CPU of the answering process per answer")
    print(f"{'':34} {'answers/s':>10} {'user us':>8} {'sys us':>8} {'vs bare':>8} {'non-2xx':>8}")
    for name, r in results.items():
        cpu = r["user_us"] + r["sys_us"]
        print(f"{name:34} {r['rps']:>10.0f} {r['user_us']:>8.1f} {r['sys_us']:>8.1f} {cpu / floor:>7.2f}x {r['errors']:>8}")


if __name__ == "__main__":
    main()
