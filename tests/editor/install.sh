#!/usr/bin/env bash
# Installs the real yaml-language-server (the server behind VS Code's Red Hat YAML extension and
# Neovim's `yamlls`) into .tools/yaml-language-server (git-ignored), from package.json and
# package-lock.json next to this script, so the server and every dependency are pinned.
# 1.25.0 is the newest release that runs on Node 20 (2.x requires Node >= 22.13).
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/editor
dest=$PWD/.tools/yaml-language-server
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dependencies"]["yaml-language-server"])' "$here/package.json")
installed=$dest/node_modules/yaml-language-server/package.json

if [ -f "$installed" ] \
  && [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$installed")" = "$want" ] \
  && cmp -s "$here/package-lock.json" "$dest/package-lock.json"; then
  exit 0
fi

command -v node >/dev/null || { echo "install.sh: node is required (Node >= 18)" >&2; exit 1; }
echo "installing yaml-language-server@$want into .tools/yaml-language-server"
rm -rf "$dest"
mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error
