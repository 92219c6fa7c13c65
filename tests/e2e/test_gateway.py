"""The gateway end to end, with the official MCP Python SDK as client and as upstream servers:
initialize, filtered tools/list, allowed and denied calls, DLP, 401 and 429, policy hot reload
under load (the last-known-good policy serves while a broken one is refused), and a stdio
upstream killed mid-call (an error, a restart, then success)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from client import KINDS, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def flatten(error: BaseException) -> str:
    """Every exception in a (nested) exception group, as text: the SDKs wrap transport errors."""
    return repr(error) + "".join(flatten(e) for e in getattr(error, "exceptions", []))


def post(url: str, body: dict, token: str | None = None, headers: dict | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    request.add_header("accept", "application/json, text/event-stream")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


async def test_tools_are_listed_through_every_transport_and_filtered(stack, kind):
    async with connect(stack.mcp, stack.token(f"lister-{kind}"), kind) as session:
        names = await session.tool_names()
    builtins = ["read_file", "list_directory", "search_files"]  # the repo root is read-only: no write_file
    assert sorted(names) == sorted(["echo", "leak", "crash", "slow", "pid", "remote_echo", "unix_echo", *builtins]), names
    assert "admin_tool" not in names, "policy hides it"
    assert "hidden_tool" not in names, "allowTools hides it"


async def test_calls_reach_each_upstream(stack, kind):
    async with connect(stack.mcp, stack.token(f"caller-{kind}"), kind) as session:
        assert await session.call("echo", {"text": "over stdio"}) == "over stdio"
        assert await session.call("remote_echo", {"text": "over http"}) == "over http"
        assert await session.call("unix_echo", {"text": "over a socket"}) == "over a socket"


async def test_denied_call_is_403_with_the_policy_reason(stack, kind):
    # mcp 2.x raises an MCPError from the call; mcp 1.x treats the 403 as fatal to its transport.
    with pytest.raises(BaseException) as raised:
        async with connect(stack.mcp, stack.token(f"denied-{kind}"), kind) as session:
            await session.call("admin_tool")
    text = flatten(raised.value)
    assert "403" in text or "admin_tool needs airlock.admins" in text, text
    status, headers, body = post(stack.mcp, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "admin_tool", "arguments": {}}}, stack.token("denied-raw"))
    assert status == 403
    assert body["error"]["data"]["reason"] == "admin_tool needs airlock.admins"
    assert body["error"]["data"]["rule_id"] == "admin-only"
    assert body["error"]["data"]["correlation_id"] == headers.get("x-request-id")
    async with connect(stack.mcp, stack.token(f"admin-{kind}", ["airlock.admins"]), kind) as admin:
        assert await admin.call("admin_tool") == "admin only"


async def test_roots_are_served_by_the_gateway(stack, kind):
    async with connect(stack.mcp, stack.token(f"reader-{kind}"), kind) as session:
        assert "mcp://repo/" in await session.resource_uris()
        assert await session.read("mcp://repo/README.md") == "# e2e repo\n"
        assert await session.call("read_file", {"uri": "mcp://repo/README.md"}) == "# e2e repo\n"
        guide = await session.call("read_file", {"uri": "mcp://repo/docs/guide.md"})
        assert "AKIA" not in guide and "deploy with key" in guide
        listing = await session.call("list_directory", {"uri": "mcp://repo/"})
        assert "README.md" in listing and "docs/" in listing


def test_a_traversal_is_403_path_violation(stack):
    token = stack.token("traverser")
    for uri in ["mcp://repo/../outside.txt", "mcp://repo/%2e%2e/outside.txt", "file:///etc/passwd"]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": uri}}
        status, headers, answer = post(stack.mcp, body, token, {"mcp-protocol-version": "2025-06-18"})
        assert status == 403, (uri, answer)
        assert answer["error"]["data"]["error_type"] == "path_violation"
        assert answer["error"]["data"]["correlation_id"] == headers["x-request-id"]
        assert "OUTSIDE" not in json.dumps(answer)


async def test_results_are_redacted(stack, kind):
    async with connect(stack.mcp, stack.token(f"dlp-{kind}"), kind) as session:
        assert await session.call("leak") == "here is [redacted-aws-key] and [redacted-email]"


def test_no_token_is_401_with_protected_resource_metadata(stack):
    status, headers, body = post(stack.mcp, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert status == 401
    assert headers["www-authenticate"].startswith('Bearer resource_metadata="')
    assert body["error"]["data"]["error_type"] == "missing_token"


async def test_no_token_fails_the_sdk_client(stack, kind):
    with pytest.raises(Exception):
        async with connect(stack.mcp, None, kind) as session:
            await session.tool_names()


def test_over_the_limit_is_429_with_retry_after(stack):
    token = stack.token("burst")
    statuses = [post(stack.mcp, {"jsonrpc": "2.0", "id": i, "method": "tools/list"}, token)[0] for i in range(14)]
    assert statuses[:10] == [200] * 10, statuses
    assert 429 in statuses
    status, headers, body = post(stack.mcp, {"jsonrpc": "2.0", "id": 99, "method": "tools/list"}, token)
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert body["error"]["data"]["error_type"] == "rate_limited"


async def test_policy_hot_reload_under_load_keeps_serving(stack, kind):
    from conftest import POLICY

    admin = stack.token(f"reloader-{kind}", ["airlock.admins", "mcp.users"])
    failures: list[str] = []
    done = asyncio.Event()

    async def load(n: int) -> int:
        calls = 0
        async with connect(stack.mcp, stack.token(f"load-{kind}-{n}"), kind) as session:
            while not done.is_set():
                try:
                    assert await session.call("echo", {"text": "x"}) == "x"
                except Exception as error:  # noqa: BLE001 - every failure counts
                    failures.append(repr(error))
                calls += 1
                # Within the per-token limit (2/s, burst 10) for the test's ~1.5 s.
                await asyncio.sleep(0.15)
        return calls

    workers = [asyncio.create_task(load(n)) for n in range(3)]
    await asyncio.sleep(0.3)
    stack.write_policy("package airlock.authz\nallow if {")
    status, _, outcome = await asyncio.to_thread(post, f"{stack.gateway}/admin/policy/reload", {}, admin)
    assert status == 422 and outcome["last_known_good"] is True, outcome
    await asyncio.sleep(0.3)
    stack.write_policy(POLICY)
    status, _, outcome = await asyncio.to_thread(post, f"{stack.gateway}/admin/policy/reload", {}, admin)
    assert status == 200 and outcome["result"] == "reloaded", outcome
    await asyncio.sleep(0.3)
    done.set()
    calls = sum(await asyncio.gather(*workers))
    assert calls > 10
    assert failures == [], f"{len(failures)} of {calls} calls failed during the reloads: {failures[:3]}"


async def call_once(stack, kind: str, subject: str, tool: str) -> str:
    async with connect(stack.mcp, stack.token(subject), kind) as session:
        return await session.call(tool)


async def test_a_killed_stdio_upstream_restarts(stack, kind):
    subject = f"crasher-{kind}"
    before = await call_once(stack, kind, subject, "pid")
    with pytest.raises(BaseException) as raised:
        await call_once(stack, kind, subject, "crash")
    text = flatten(raised.value)
    assert "502" in text or "upstream_unavailable" in text, text
    # Each attempt is a new client (and subject): an SDK 1.x session does not survive a 502.
    for attempt in range(50):
        try:
            after = await call_once(stack, kind, f"{subject}-{attempt}", "pid")
            break
        except BaseException:  # noqa: BLE001 - the upstream is restarting
            await asyncio.sleep(0.2)
    else:
        pytest.fail("the upstream never came back")
    assert after != before, "a new process serves after the restart"
