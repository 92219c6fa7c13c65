"""One interface over the official MCP Python SDK clients users run: mcp 2.x `Client` (in its
default auto mode, which speaks the stateless 2026-07-28 revision, and in legacy mode) and
mcp 1.x `ClientSession` over `streamablehttp_client`."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version

MAJOR = int(version("mcp").split(".")[0])
KINDS = ["auto", "legacy"] if MAJOR >= 2 else ["v1"]


@dataclass
class Session:
    inner: object
    kind: str

    async def tool_names(self) -> list[str]:
        result = await self.inner.list_tools()
        return [tool.name for tool in result.tools]

    async def call(self, name: str, arguments: dict | None = None) -> str:
        result = await self.inner.call_tool(name, arguments or {})
        if result.isError if hasattr(result, "isError") else result.is_error:
            raise RuntimeError(f"tool error: {result.content}")
        return "".join(getattr(block, "text", "") for block in result.content)

    async def resource_uris(self) -> list[str]:
        result = await self.inner.list_resources()
        return [str(resource.uri) for resource in result.resources]

    async def read(self, uri: str) -> str:
        result = await self.inner.read_resource(uri)
        return "".join(getattr(block, "text", "") for block in result.contents)


@asynccontextmanager
async def connect(url: str, token: str | None, kind: str):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if MAJOR >= 2:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=kind) as client:
                yield Session(client, kind)
    else:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamablehttp_client

        async with streamablehttp_client(url, headers=headers) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield Session(session, kind)
