"""End-to-end fixtures: the real binaries as separate processes on 127.0.0.1.

`airlock dev-idp` issues tokens; MCP servers written with the official SDK serve as upstreams
over stdio, streamable HTTP and a unix socket; `airlockc build` compiles the gateway's
airlock.yaml; `airlock serve` runs it. The clients are the SDK's own (see client.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "debug"
SERVER = Path(__file__).parent / "servers" / "tools_server.py"
SERVER_PYTHON = ROOT / ".tools" / "e2e-mcp2" / "bin" / "python"

POLICY = """package airlock.authz
import rego.v1

default allow := false

allow if {
    "mcp.users" in input.groups
    not admin_only
}

allow if "airlock.admins" in input.groups

admin_only if input.tool == "admin_tool"

reason := "admin_tool needs airlock.admins" if admin_only
rule_id := "admin-only" if admin_only
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} never answered 200")


def wait_for_socket(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.05)
    if not path.exists():
        raise TimeoutError(f"{path} never appeared")


class Stack:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.processes: list[subprocess.Popen] = []
        self.idp = f"http://127.0.0.1:{free_port()}"
        self.gateway = f"http://127.0.0.1:{free_port()}"
        self.mcp = f"{self.gateway}/mcp"

    def spawn(self, *args: str | Path, log: str) -> subprocess.Popen:
        handle = open(self.work / log, "w")
        process = subprocess.Popen([str(a) for a in args], stdout=handle, stderr=subprocess.STDOUT, cwd=self.work)
        self.processes.append(process)
        return process

    def token(self, subject: str, groups: list[str] | None = None, **extra: object) -> str:
        body = json.dumps({"sub": subject, "groups": groups if groups is not None else ["mcp.users"], **extra}).encode()
        request = urllib.request.Request(f"{self.idp}/token", data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request) as response:
            return json.load(response)["access_token"]

    def write_policy(self, text: str) -> None:
        (self.work / "policy.rego").write_text(text)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("airlock-e2e")
    stack = Stack(work)
    try:
        stack.spawn(BIN / "airlock", "dev-idp", "--listen", stack.idp.removeprefix("http://"), "--audience", "mcp-airlock", log="idp.log")
        http_port = free_port()
        stack.spawn(SERVER_PYTHON, SERVER, "--http", str(http_port), log="http-upstream.log")
        # A directory of its own: in the pod the socket's directory is a volume, which may not
        # share the audit volume's mount path (AL2033).
        (work / "sockets").mkdir()
        socket_path = work / "sockets" / "mcp.sock"
        stack.spawn(SERVER_PYTHON, SERVER, "--uds", socket_path, log="unix-upstream.log")
        wait_for(f"{stack.idp}/.well-known/openid-configuration")
        wait_for_socket(socket_path)
        stack.write_policy(POLICY)
        repo = work / "repo"
        (repo / "docs").mkdir(parents=True)
        (repo / "README.md").write_text("# e2e repo\n")
        (repo / "docs" / "guide.md").write_text("deploy with key AKIAABCDEFGHIJKLMNOP\n")
        (work / "outside.txt").write_text("OUTSIDE-THE-ROOT\n")
        (work / "airlock.yaml").write_text(f"""
version: 1
name: e2e
image: {{repository: ghcr.io/acme/airlock, digest: "sha256:{'0' * 64}"}}
auth:
  oidc:
    issuer: {stack.idp}
    audience: mcp-airlock
    requiredGroups: [mcp.users, airlock.admins]
  adminGroups: [airlock.admins]
policy: {{file: policy.rego}}
audit: {{sqlite: {{path: "{work / 'audit.db'}"}}}}
rateLimiting: {{perToken: 120/min, burst: 10, failedAuth: {{maxAttempts: 1000}}}}
dlp:
  patterns:
    - {{name: aws-key, regex: 'AKIA[0-9A-Z]{{16}}', examples: {{match: [AKIAABCDEFGHIJKLMNOP]}}}}
    - {{name: email, regex: '(?i)[a-z0-9._%+-]{{1,64}}@[a-z0-9.-]+\\.[a-z]{{2,}}', examples: {{match: [a@example.com]}}}}
roots:
  - {{name: repo, type: fs, virtual: "mcp://repo/", real: "{repo}", volume: {{claimName: repo}}}}
upstreams:
  - name: local
    type: stdio
    command: ["{SERVER_PYTHON}", "{SERVER}"]
    timeout: 10s
    allowTools: [echo, leak, admin_tool, crash, slow, pid]
  - name: remote
    type: http
    url: http://127.0.0.1:{http_port}/mcp
    timeout: 10s
    toolPrefix: remote_
    allowTools: [echo]
  - name: socket
    type: unix
    socket: {socket_path}
    timeout: 10s
    toolPrefix: unix_
    allowTools: [echo]
""")
        subprocess.run([BIN / "airlockc", "build", "airlock.yaml", "-o", "deploy"], cwd=work, check=True, capture_output=True)
        stack.spawn(BIN / "airlock", "serve", "--config", work / "deploy" / "runtime" / "airlock.json", "--listen", stack.gateway.removeprefix("http://"), "--policy-dir", work, log="gateway.log")
        wait_for(f"{stack.gateway}/ready")
        yield stack
    finally:
        stack.stop()
        if os.environ.get("AIRLOCK_E2E_LOGS"):
            for log in sorted(work.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()}")
