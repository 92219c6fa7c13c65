#!/usr/bin/env bash
# Installs the official MCP Python SDK, both major versions users run, into two virtualenvs
# under .tools/ (git-ignored): mcp 2.x (servers and the 2.x client) and mcp 1.x (the 1.x client);
# the official TypeScript SDK into .tools/e2e-node; and HAProxy (Debian's) for the
# multi-replica tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$PWD/.tools
install() {
  local venv=$1; shift
  if [ ! -x "$tools/$venv/bin/pytest" ]; then
    echo "installing $* into .tools/$venv"
    python3 -m venv "$tools/$venv"
    "$tools/$venv/bin/pip" install --quiet --disable-pip-version-check "$@" pytest uvicorn
  fi
}
install e2e-mcp2 "mcp==2.3.0"
install e2e-mcp1 "mcp==1.30.0"

if [ ! -d "$tools/e2e-node/node_modules/@modelcontextprotocol/sdk" ]; then
  echo "installing @modelcontextprotocol/sdk into .tools/e2e-node"
  mkdir -p "$tools/e2e-node"
  (cd "$tools/e2e-node" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent @modelcontextprotocol/sdk@1.32.2)
fi
if ! command -v haproxy >/dev/null 2>&1; then
  echo "installing haproxy (Debian)"
  (apt-get install -y -qq haproxy >/dev/null 2>&1) || (apt-get update -qq >/dev/null && apt-get install -y -qq haproxy >/dev/null)
fi
