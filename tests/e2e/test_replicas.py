"""Many replicas, one gateway: three `airlock serve` processes on one frozen config behind HAProxy
(round-robin, no stickiness), sharing a session key, a Redis of the test's own (limits, the
failed-authentication throttle, sessions' state) and a PostgreSQL database (one audit chain).

- the official SDK clients (Python 1.x or 2.x in legacy mode, per the virtualenv, and the
  TypeScript SDK) each make 100 calls through the balancer without a session error;
- 300 quick calls by one token admit what one replica alone admits, not three times as much;
- bad tokens spread over the replicas block the client IP on every replica;
- a replica killed mid-run: clients carry on through the others; restarted, it rejoins;
- Redis stopped mid-run: the replicas keep serving with local limits and say so
  (`airlock_ratelimit_store_up 0`), and share their limits again when it returns;
- the three replicas' audit events form one chain that `airlock audit verify` accepts.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from client import KINDS, connect
from conftest import BIN, ROOT, SERVER, SERVER_PYTHON, Stack, free_port, wait_for

REPLICAS = 3
NODE = ROOT / ".tools" / "e2e-node"


@dataclass
class Cluster:
    work: Path
    stack: Stack
    balancer: str
    replicas: list[str]
    redis_port: int
    env: dict[str, str]
    config: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def mcp(self) -> str:
        return f"{self.balancer}/mcp"

    def start_replica(self, index: int) -> None:
        address = self.replicas[index].removeprefix("http://")
        env = {**self.env, "HOSTNAME": f"replica-{index}"}
        handle = open(self.work / f"gateway-{index}.log", "a")
        self.processes[f"gateway-{index}"] = subprocess.Popen(
            [BIN / "airlock", "serve", "--config", self.config, "--listen", address],
            stdout=handle, stderr=subprocess.STDOUT, cwd=self.work, env=env,
        )
        wait_for(f"{self.replicas[index]}/ready")

    def stop_replica(self, index: int, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(f"gateway-{index}")
        process.send_signal(sig)
        process.wait(timeout=30)

    def start_redis(self) -> None:
        self.processes["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True).stdout.strip() == b"PONG":
                return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop_redis(self) -> None:
        process = self.processes.pop("redis")
        process.kill()
        process.wait()

    def stop(self) -> None:
        for name, process in list(self.processes.items()):
            process.send_signal(signal.SIGTERM if name.startswith("gateway") else signal.SIGKILL)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def post(url: str, token: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def gauge(replica: str, name: str) -> float | None:
    with urllib.request.urlopen(f"{replica}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def call_echo(url: str, token: str, text: str) -> tuple[int, dict]:
    return post(url, token, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                             "params": {"name": "echo", "arguments": {"text": text}}})


def make_cluster(stack: Stack, work: Path, rate_limiting: str) -> Cluster:
    """Compiles and starts the cluster: an upstream, Redis, three replicas, HAProxy."""
    work.mkdir(parents=True, exist_ok=True)
    database = f"airlock_replicas_{uuid.uuid4().hex}"
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    secrets_dir = work / "secrets"
    (secrets_dir / "airlock-sessions").mkdir(parents=True)
    (secrets_dir / "airlock-sessions" / "key").write_text(secrets.token_urlsafe(48))
    (secrets_dir / "airlock-database").mkdir()
    (secrets_dir / "airlock-database" / "url").write_text(f"postgres://postgres@127.0.0.1:5432/{database}")
    upstream_port = free_port()
    redis_port = free_port()
    (work / "policy.rego").write_text("package airlock.authz\nimport rego.v1\ndefault allow := false\nallow if \"mcp.users\" in input.groups\n")
    (work / "airlock.yaml").write_text(f"""
version: 1
name: e2e-replicas
image: {{repository: ghcr.io/acme/airlock, digest: "sha256:{'0' * 64}"}}
deployment: {{replicas: {REPLICAS}}}
server:
  clientNamespaces: [agents]
  sessions: {{keySecretRef: {{name: airlock-sessions, key: key}}}}
auth:
  oidc: {{issuer: {stack.idp}, audience: mcp-airlock, requiredGroups: [mcp.users]}}
policy: {{file: policy.rego}}
audit: {{backend: postgresql, databaseSecretRef: {{name: airlock-database, key: url}}}}
rateLimiting:
  {rate_limiting}
  store: {{redis: {{url: "redis://127.0.0.1:{redis_port}/0", keyPrefix: "e2e:{uuid.uuid4().hex}:"}}}}
upstreams:
  - {{name: tools, type: http, url: "http://127.0.0.1:{upstream_port}/mcp", timeout: 10s, allowTools: [echo]}}
""")
    built = subprocess.run([BIN / "airlockc", "build", "airlock.yaml", "-o", "deploy"], cwd=work, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    replicas = [f"http://127.0.0.1:{free_port()}" for _ in range(REPLICAS)]
    cluster = Cluster(
        work=work, stack=stack, balancer=f"http://127.0.0.1:{free_port()}", replicas=replicas,
        redis_port=redis_port, env={**os.environ, "AIRLOCK_SECRETS_DIR": str(secrets_dir)},
        config=work / "deploy" / "runtime" / "airlock.json",
    )
    upstream_log = open(work / "upstream.log", "w")
    cluster.processes["upstream"] = subprocess.Popen([SERVER_PYTHON, SERVER, "--http", str(upstream_port)], stdout=upstream_log, stderr=subprocess.STDOUT)
    cluster.start_redis()
    wait_for_port(upstream_port)
    for index in range(REPLICAS):
        cluster.start_replica(index)
    servers = "\n".join(
        f"    server r{i} {url.removeprefix('http://')} check inter 300ms fall 1 rise 2" for i, url in enumerate(replicas)
    )
    (work / "haproxy.cfg").write_text(f"""
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
frontend mcp
    bind {cluster.balancer.removeprefix('http://')}
    default_backend airlock
backend airlock
    balance roundrobin
    option httpchk GET /ready
{servers}
""")
    balancer_log = open(work / "haproxy.log", "w")
    cluster.processes["haproxy"] = subprocess.Popen(["haproxy", "-f", work / "haproxy.cfg", "-db"], stdout=balancer_log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{cluster.balancer}/live", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(1.0)  # every server passes its first checks
    return cluster


@pytest.fixture(scope="module")
def sessions_cluster(stack: Stack, tmp_path_factory: pytest.TempPathFactory):
    cluster = make_cluster(stack, tmp_path_factory.mktemp("replicas-sessions"), "perToken: 100000/min\n  burst: 10000")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def limits_cluster(stack: Stack, tmp_path_factory: pytest.TempPathFactory):
    cluster = make_cluster(stack, tmp_path_factory.mktemp("replicas-limits"),
                           "perToken: 60/min\n  burst: 10\n  failedAuth: {maxAttempts: 5, window: 1m, blockFor: 1m}")
    yield cluster
    cluster.stop()


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "auto"])
def test_python_sdk_sessions_hold_across_replicas(sessions_cluster: Cluster, kind: str) -> None:
    """The 2.x client in legacy mode and the 1.x client: 100 calls, listing tools around them."""
    token = sessions_cluster.stack.token(f"py-{kind}@example.com")

    async def run() -> int:
        ok = 0
        async with connect(sessions_cluster.mcp, token, kind) as session:
            for i in range(100):
                if i % 10 == 0:
                    assert "echo" in await session.tool_names()
                assert await session.call("echo", {"text": f"{kind}-{i}"}) == f"{kind}-{i}"
                ok += 1
        return ok

    assert asyncio.run(run()) == 100


def test_typescript_sdk_session_holds_across_replicas(sessions_cluster: Cluster) -> None:
    script = NODE / "ts_client.mjs"
    shutil.copy(Path(__file__).parent / "ts_client.mjs", script)
    token = sessions_cluster.stack.token("ts@example.com")
    run = subprocess.run(["node", script, sessions_cluster.mcp, token, "100"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert (result["ok"], result["errors"]) == (100, []), result


def test_a_killed_replica_is_routed_around_and_rejoins(sessions_cluster: Cluster) -> None:
    token = sessions_cluster.stack.token("survivor@example.com")

    async def run() -> None:
        kind = [k for k in KINDS if k != "auto"][0]
        async with connect(sessions_cluster.mcp, token, kind) as session:
            for i in range(20):
                assert await session.call("echo", {"text": f"a-{i}"}) == f"a-{i}"
            sessions_cluster.stop_replica(1)
            for i in range(40):
                assert await session.call("echo", {"text": f"b-{i}"}) == f"b-{i}"
            sessions_cluster.start_replica(1)
            await asyncio.sleep(1.0)
            for i in range(20):
                assert await session.call("echo", {"text": f"c-{i}"}) == f"c-{i}"

    asyncio.run(run())
    # The restarted replica serves again.
    status, body = call_echo(f"{sessions_cluster.replicas[1]}/mcp", token, "direct")
    assert status == 200, body


def test_one_audit_chain_for_all_replicas(sessions_cluster: Cluster) -> None:
    token = sessions_cluster.stack.token("auditor@example.com")
    for i in range(30):
        assert call_echo(sessions_cluster.mcp, token, f"audit-{i}")[0] == 200
    time.sleep(1.5)  # the writers' group commits
    verify = subprocess.run(
        [BIN / "airlock", "audit", "verify", "--config", sessions_cluster.config, "--json"],
        capture_output=True, text=True, env=sessions_cluster.env,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    report = json.loads(verify.stdout)
    assert report["ok"] and report["report"]["events"] >= 30, report
    replicas = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-d",
         (sessions_cluster.work / "secrets" / "airlock-database" / "url").read_text().rsplit("/", 1)[1],
         "-c", "SELECT DISTINCT event::json->>'replica' FROM audit_events"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert {"replica-0", "replica-2"} <= set(replicas), replicas


def test_the_token_limit_holds_across_replicas(limits_cluster: Cluster) -> None:
    token = limits_cluster.stack.token("quick@example.com")
    started = time.monotonic()
    statuses = [call_echo(limits_cluster.mcp, token, f"q-{i}")[0] for i in range(300)]
    elapsed = time.monotonic() - started
    admitted = statuses.count(200)
    # One replica alone admits the burst (10) plus what refills meanwhile (1 per second).
    assert admitted <= 10 + int(elapsed) + 1, (admitted, elapsed)
    assert set(statuses) <= {200, 429}, set(statuses)


def test_bad_tokens_spread_over_replicas_throttle_every_replica(limits_cluster: Cluster) -> None:
    for replica in limits_cluster.replicas + limits_cluster.replicas[:2]:
        assert call_echo(f"{replica}/mcp", "not-a-token", "x")[0] == 401
    good = limits_cluster.stack.token("throttled@example.com")
    for replica in limits_cluster.replicas:
        status, body = call_echo(f"{replica}/mcp", good, "x")
        assert (status, body["error"]["data"]["error_type"]) == (429, "auth_throttled"), body


def test_a_stopped_redis_falls_back_to_local_limits_and_recovers(limits_cluster: Cluster) -> None:
    replica = limits_cluster.replicas[0]
    assert gauge(replica, "airlock_ratelimit_store_up") == 1.0
    limits_cluster.stop_redis()
    token = limits_cluster.stack.token("outage@example.com")
    status, body = call_echo(limits_cluster.mcp, token, "during")
    assert status == 200, body
    deadline = time.monotonic() + 5
    while gauge(replica, "airlock_ratelimit_store_up") != 0.0:
        assert time.monotonic() < deadline, "the outage is exported"
        time.sleep(0.1)
    assert get_json(f"{replica}/info")["rate_limit_store"]["state"] == "down"
    limits_cluster.start_redis()
    deadline = time.monotonic() + 10
    while gauge(replica, "airlock_ratelimit_store_up") != 1.0:
        assert time.monotonic() < deadline, "the store's return is noticed"
        time.sleep(0.1)
    assert call_echo(limits_cluster.mcp, limits_cluster.stack.token("after@example.com"), "after")[0] == 200
