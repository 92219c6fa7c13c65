"""An MCP server for the gateway's end-to-end tests, written with the official Python SDK.

Run over stdio (the default), streamable HTTP (`--http PORT`) or a unix socket (`--uds PATH`).
"""

import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer

app = MCPServer("e2e-tools")


@app.tool()
def echo(text: str) -> str:
    """Returns its input."""
    return text


@app.tool()
def leak() -> str:
    """Returns text holding credentials and personal data, for DLP tests."""
    return "here is AKIAABCDEFGHIJKLMNOP and ops@example.com"


@app.tool()
def admin_tool() -> str:
    """A tool the test policy reserves for admins."""
    return "admin only"


@app.tool()
def hidden_tool() -> str:
    """A tool outside the upstream's allowTools."""
    return "never listed"


@app.tool()
def crash() -> str:
    """Kills the server mid-call."""
    os._exit(3)


@app.tool()
async def slow(seconds: float = 2.0) -> str:
    """Answers after a delay."""
    await asyncio.sleep(seconds)
    return "done"


@app.tool()
def pid() -> str:
    """The server's process id (restarts change it)."""
    return str(os.getpid())


@app.resource("notes://welcome")
def welcome() -> str:
    """A resource whose text holds an email address."""
    return "welcome, write to admin@example.com"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--http", "--uds"):
        import uvicorn

        web = app.streamable_http_app()
        if sys.argv[1] == "--http":
            uvicorn.run(web, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
        else:
            uvicorn.run(web, uds=sys.argv[2], log_level="warning")
    else:
        app.run()
