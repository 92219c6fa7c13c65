#!/usr/bin/env bash
# Runs the README's quickstart exactly as written (the shell block between the
# `quickstart:begin` and `quickstart:end` markers), then checks what it printed. A README command
# that drifts from the programs fails here.
set -euo pipefail
cd "$(dirname "$0")/../.."
block=$(awk '/<!-- quickstart:begin -->/{on=1; next} /<!-- quickstart:end -->/{on=0} on' README.md \
  | sed -e '/^```/d')
[ -n "$block" ] || { echo "no quickstart block in README.md" >&2; exit 1; }
rm -rf /tmp/airlock-quickstart
out=$(mktemp)
script=$(mktemp)
{
  echo 'set -euo pipefail'
  # The quickstart leaves the issuer and the gateway running; stop them when the block ends.
  echo 'trap '"'"'kill $(jobs -p) 2>/dev/null || true'"'"' EXIT'
  echo "$block"
} > "$script"
if ! timeout 300 bash "$script" > "$out" 2>&1; then
  cat "$out"
  echo "the README quickstart failed" >&2
  exit 1
fi
expect() {
  grep -qF -- "$1" "$out" || { cat "$out"; echo "the quickstart did not print: $1" >&2; exit 1; }
}
expect '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"4"}]}}'
expect '"uri":"mcp://docs/welcome.md","mimeType":"text/markdown","text":"# Welcome'
expect '401'
expect 'OK: sqlite audit store: '
expect 'PASS  token'
expect 'PASS  upstream.sample'
expect ' 0 failed'
[ -n "${AIRLOCK_QUICKSTART_SHOW:-}" ] && cat "$out"
echo "the README quickstart ran: $(grep -c . "$script") lines, every expectation met"
