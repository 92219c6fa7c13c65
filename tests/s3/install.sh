#!/usr/bin/env bash
# Installs moto's S3-compatible server (moto_server) under .tools/moto (git-ignored): the S3
# roots and audit export tests start it on 127.0.0.1 (see runtime/tests/common/s3.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$PWD/.tools/moto
if [ ! -x "$venv/bin/moto_server" ]; then
  echo "installing moto[server] into .tools/moto"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==5.1.18"
fi
