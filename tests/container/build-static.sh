#!/usr/bin/env bash
# Builds the runtime as the Containerfile does — a static x86_64 musl binary, release profile —
# without a container engine, and proves it is static and runs: `--version`, then the quickstart
# config served and probed on loopback. Needs musl-gcc (Debian: musl-tools) and the musl target
# (`rustup target add x86_64-unknown-linux-musl`); installs both when it can.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=x86_64-unknown-linux-musl
if ! command -v musl-gcc >/dev/null; then
  apt-get install -y --no-install-recommends musl-tools >/dev/null
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
cargo build --locked --release --target "$target" -p airlock
binary=${CARGO_TARGET_DIR:-target}/$target/release/airlock
file "$binary"
if ldd "$binary" 2>&1 | grep -q "=>"; then
  echo "$binary links shared libraries" >&2
  exit 1
fi
echo "size: $(du -h "$binary" | cut -f1)"
"$binary" --version
# It serves: the quickstart's config (its stdio upstream needs python3, as on a developer machine).
work=$(mktemp -d)
cargo run --quiet -p airlockc -- build examples/quickstart/airlock.yaml -o "$work/deploy" >/dev/null
mkdir -p /tmp/airlock-quickstart && cp -r examples/quickstart/docs /tmp/airlock-quickstart/
"$binary" serve --config "$work/deploy/runtime/airlock.json" --listen 127.0.0.1:18080 > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18080/live >/dev/null && break; sleep 0.1; done
curl -sf http://127.0.0.1:18080/live
echo
echo "ok: the static binary builds, is static, and serves"
