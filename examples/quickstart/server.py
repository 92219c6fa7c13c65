#!/usr/bin/env python3
"""A small MCP server over stdio for the quickstart, with no dependencies beyond Python 3.

It speaks JSON-RPC 2.0, one message per line, and offers two tools: `echo` and `word_count`.
Production servers are written with an MCP SDK; this one only shows the gateway at work.
"""

import json
import sys

TOOLS = [
    {
        "name": "echo",
        "description": "Returns the text it is given.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    },
    {
        "name": "word_count",
        "description": "Counts the words of a text.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    },
]


def call(name: str, arguments: dict) -> dict:
    text = str(arguments.get("text", ""))
    if name == "echo":
        return {"content": [{"type": "text", "text": text}]}
    if name == "word_count":
        return {"content": [{"type": "text", "text": str(len(text.split()))}]}
    raise KeyError(name)


def answer(message: dict) -> dict | None:
    method, params = message.get("method"), message.get("params") or {}
    if "id" not in message:
        return None  # a notification
    if method == "initialize":
        result = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "quickstart-tools", "version": "1.0"},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        try:
            result = call(params.get("name", ""), params.get("arguments") or {})
        except KeyError:
            error = {"code": -32602, "message": f"unknown tool {params.get('name')}"}
            return {"jsonrpc": "2.0", "id": message["id"], "error": error}
    else:
        error = {"code": -32601, "message": f"method {method} not found"}
        return {"jsonrpc": "2.0", "id": message["id"], "error": error}
    return {"jsonrpc": "2.0", "id": message["id"], "result": result}


for line in sys.stdin:
    if not line.strip():
        continue
    reply = answer(json.loads(line))
    if reply is not None:
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
