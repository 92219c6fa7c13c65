#!/usr/bin/env bash
# Installs wrk (Debian's, with its LuaJIT library) under .tools/wrk without touching the system.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$PWD/.tools
if [ ! -x "$tools/wrk/wrk" ]; then
  work=$(mktemp -d)
  (cd "$work" && apt-get download wrk libluajit-5.1-2 >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get download wrk libluajit-5.1-2 >/dev/null))
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
  mkdir -p "$tools/wrk"
  cp "$work/x/usr/bin/wrk" "$tools/wrk/wrk.bin"
  cp -P "$work"/x/usr/lib/x86_64-linux-gnu/libluajit-5.1.so* "$tools/wrk/"
  printf '#!/bin/sh\nLD_LIBRARY_PATH="$(dirname "$0")" exec "$(dirname "$0")/wrk.bin" "$@"\n' > "$tools/wrk/wrk"
  chmod +x "$tools/wrk/wrk"
  rm -rf "$work"
fi
