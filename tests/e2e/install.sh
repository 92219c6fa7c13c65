#!/usr/bin/env bash
# Installs the official MCP Python SDK, both major versions users run, into two virtualenvs
# under .tools/ (git-ignored): mcp 2.x (servers and the 2.x client) and mcp 1.x (the 1.x client).
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
