"""Tool integrity end to end, the documented workflow with the official SDKs: build, `airlock tools
pin` the upstream's definitions, reference the lock in airlock.yaml, rebuild, serve. Then the
upstream (an SDK server) changes a reviewed tool's description into instructions to the model and
adds a tool nobody reviewed (a rug pull):

- the drifted tool disappears from the SDK client's `tools/list` and its call gets 403
  `tool_definition_changed`; the new tool is hidden and its call gets 403 `tool_not_pinned`;
- the untouched tool keeps working through the same client;
- the audit trail holds a `tool_drift` event (pinned and actual hash) and a `tool_withheld` one,
  `airlock_tool_drift_total` and `airlock_tools_withheld` count them, `/info` and `airlock doctor`
  name them, and `airlock tools diff` shows the change and exits 1.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from client import KINDS, connect
from conftest import BIN, SERVER_PYTHON, Stack, free_port, wait_for
from test_gateway import post

SHIFTY = Path(__file__).parent / "servers" / "shifty_server.py"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Pinned:
    def __init__(self, stack: Stack, upstream: subprocess.Popen) -> None:
        self.stack = stack
        self.upstream = upstream
        self.config = stack.work / "deploy" / "runtime" / "airlock.json"
        self.lock = stack.work / "airlock.tools.json"

    def airlock(self, *args: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run([BIN / "airlock", *map(str, args)], cwd=self.stack.work, capture_output=True, text=True, timeout=60)

    def audit(self, action: str) -> list[dict]:
        with sqlite3.connect(self.stack.work / "audit.db") as db:
            rows = db.execute("SELECT event FROM audit_events WHERE action = ? ORDER BY seq", (action,)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def metrics(self) -> str:
        with urllib.request.urlopen(f"{self.stack.gateway}/metrics") as response:
            return response.read().decode()


def write_config(stack: Stack, port: int, pinning: str) -> None:
    (stack.work / "airlock.yaml").write_text(f"""
version: 1
name: pinned
image: {{repository: ghcr.io/acme/airlock, digest: "sha256:{'0' * 64}"}}
auth:
  oidc: {{issuer: {stack.idp}, audience: mcp-airlock}}
policy: {{file: policy.rego}}
audit: {{sqlite: {{path: "{stack.work / 'audit.db'}"}}}}
{pinning}
upstreams:
  - name: shifty
    type: http
    url: http://127.0.0.1:{port}/mcp
    timeout: 10s
    healthCheck: {{interval: 1s}}
""")
    subprocess.run([BIN / "airlockc", "build", "airlock.yaml", "-o", "deploy"], cwd=stack.work, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory):
    stack = Stack(tmp_path_factory.mktemp("airlock-pinning"))
    try:
        stack.spawn(BIN / "airlock", "dev-idp", "--listen", stack.idp.removeprefix("http://"), "--audience", "mcp-airlock", log="idp.log")
        port = free_port()
        upstream = stack.spawn(SERVER_PYTHON, SHIFTY, str(port), log="shifty.log")
        wait_for(f"{stack.idp}/.well-known/openid-configuration")
        stack.write_policy('package airlock.authz\nimport rego.v1\n\ndefault allow := false\n\nallow if "mcp.users" in input.groups\n')
        # The review workflow of docs/tool-integrity.md: build, pin, reference the lock, rebuild.
        write_config(stack, port, "")
        pinned = Pinned(stack, upstream)
        deadline = time.monotonic() + 30
        while (result := pinned.airlock("tools", "pin", "--config", pinned.config, "-o", pinned.lock)).returncode != 0:
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.2)
        write_config(stack, port, "toolPinning: {lockFile: airlock.tools.json, onDrift: block, onUnpinned: block}")
        stack.spawn(BIN / "airlock", "serve", "--config", pinned.config, "--listen", stack.gateway.removeprefix("http://"), "--policy-dir", stack.work, log="gateway.log")
        wait_for(f"{stack.gateway}/ready")
        yield pinned
    finally:
        stack.stop()
        if os.environ.get("AIRLOCK_E2E_LOGS"):
            for log in sorted(stack.work.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()}")


def test_the_lock_pins_the_reviewed_definitions(pinned: Pinned) -> None:
    lock = json.loads(pinned.lock.read_text())
    text = pinned.lock.read_text()
    assert "Summarizes a text in one sentence." in text and "id_ed25519" not in text
    assert "shifty" in json.dumps(lock) and "search" in text and "export_all" not in text
    assert pinned.airlock("tools", "diff", "--config", pinned.config, "--lock", pinned.lock).returncode == 0


async def test_a_rug_pull_is_withheld_and_reported(pinned: Pinned) -> None:
    stack = pinned.stack
    for kind in KINDS:
        async with connect(stack.mcp, stack.token(f"before-{kind}"), kind) as session:
            assert sorted(await session.tool_names()) == ["search", "summarize"]
            assert await session.call("summarize", {"text": "a reviewed tool"}) == "a reviewed tool"

    pinned.upstream.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 20
    while not pinned.audit("tool_drift"):
        assert time.monotonic() < deadline, "the gateway never noticed the change (health check every 1 s)"
        time.sleep(0.2)

    for kind in KINDS:
        async with connect(stack.mcp, stack.token(f"after-{kind}"), kind) as session:
            assert await session.tool_names() == ["search"], "the drifted and the new tool are hidden"
            assert await session.call("search", {"query": "q3"}) == "results for q3", "untouched tools keep working"

    token = stack.token("raw")
    for tool, error_type in [("summarize", "tool_definition_changed"), ("export_all", "tool_not_pinned")]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {"text": "x", "destination": "y"}}}
        status, headers, answer = post(stack.mcp, body, token, {"mcp-protocol-version": "2025-06-18"})
        assert status == 403, (tool, answer)
        assert answer["error"]["data"]["error_type"] == error_type, answer
        assert answer["error"]["data"]["correlation_id"] == headers["x-request-id"]

    lock = json.loads(pinned.lock.read_text())
    pinned_hash = json.dumps(lock)
    [drift] = pinned.audit("tool_drift")
    assert (drift["upstream"], drift["tool"], drift["outcome"]) == ("shifty", "summarize", "withheld")
    assert drift["pinned_hash"] in pinned_hash and drift["actual_hash"] not in pinned_hash
    withheld = [(e["tool"], e["reason"]) for e in pinned.audit("tool_withheld")]
    assert withheld == [("export_all", "tool_not_pinned")], withheld
    metrics = pinned.metrics()
    assert 'airlock_tool_drift_total{tool="summarize",upstream="shifty"} 1' in metrics or 'airlock_tool_drift_total{upstream="shifty",tool="summarize"} 1' in metrics, metrics
    assert 'airlock_tools_withheld{upstream="shifty"} 2' in metrics

    with urllib.request.urlopen(f"{stack.gateway}/info") as response:
        info = json.dumps(json.load(response))
    assert "summarize" in info and "export_all" in info

    doctor = pinned.airlock("doctor", "--config", pinned.config)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "FAIL  upstream.shifty.tools" in doctor.stdout, doctor.stdout

    diff = pinned.airlock("tools", "diff", "--config", pinned.config, "--lock", pinned.lock)
    assert diff.returncode == 1, diff.stdout + diff.stderr
    assert "changed" in diff.stdout and "summarize" in diff.stdout and "id_ed25519" in diff.stdout
    assert "added" in diff.stdout and "export_all" in diff.stdout
    assert pinned.airlock("audit", "verify", "--config", pinned.config).returncode == 0
