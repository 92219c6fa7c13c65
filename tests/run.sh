#!/usr/bin/env bash
# The test command of the README: installs the tools the tests need under .tools/ (git-ignored),
# then runs every Rust test with the insta snapshot check. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=$root/.tools
mkdir -p "$tools"
export PATH="$tools/cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo-insta >/dev/null 2>&1; then
  step "installing cargo-insta into .tools/cargo"
  cargo install cargo-insta --locked --version 1.49.0 --root "$tools/cargo" --quiet
fi

step "the local PostgreSQL service (the audit tests create throwaway databases in it)"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 50); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "moto's S3-compatible server (the S3 root and audit export tests start it)"
tests/s3/install.sh

step "Rust tests (unit, CLI cases, snapshots: cargo insta test --check)"
# --check fails on any changed or new snapshot without writing it; --unreferenced=reject fails on
# snapshot files no test uses. Stray .snap.new files are an error too.
cargo insta test --workspace --check --unreferenced=reject -- --test-threads=2
strays=$(git ls-files --others --exclude-standard | grep -E '\.snap\.new$|\.pending-snap$' || true)
if [ -n "$strays" ]; then
  echo "unreviewed snapshots: $strays" >&2
  exit 1
fi

step "fuzz smoke: every cargo-fuzz target for 10 s, after replaying its saved regressions"
tests/fuzz/run.sh 10

step "the bundled examples validate and their policy tests pass"
for example in examples/*/airlock.yaml; do
  cargo run --quiet -p airlockc -- validate "$example"
  cargo run --quiet -p airlockc -- test "$example"
done

step "external validators on every build (helm, kubernetes-validate, CRD schemas, promtool, checkov, trivy)"
tests/validators/install.sh
cargo build --quiet -p airlockc
"$tools/venv/bin/python" tests/validators/check.py target/debug/airlockc "$tools" examples/*/airlock.yaml tests/build/*/airlock.yaml

step "editor support: the real yaml-language-server validates and completes airlock.yaml"
tests/editor/install.sh
python3 tests/editor/lsp_check.py

step "a production build has no development issuer (airlock dev-idp exits 2 and says how to get one)"
cargo build --quiet -p airlock
rc=0
timeout 10 target/debug/airlock dev-idp --listen 127.0.0.1:0 2>/dev/null || rc=$?
if [ "$rc" != 2 ]; then
  echo "the production build answered 'airlock dev-idp' with $rc, not 2" >&2
  exit 1
fi

step "end-to-end: the official MCP Python SDK (2.x and 1.x) through the gateway to SDK servers"
tests/e2e/install.sh
cargo build --quiet -p airlock -p airlockc --features dev-idp
(cd tests/e2e && "$tools/e2e-mcp2/bin/pytest" && "$tools/e2e-mcp1/bin/pytest" -W ignore::DeprecationWarning)

step "every airlock/airlockc command in README.md and docs/ exists, with its flags"
python3 tests/docs/check_commands.py target/debug/airlock target/debug/airlockc --inline

step "the Containerfile passes hadolint"
tests/container/lint.sh

step "the README quickstart, exactly as written (ports 8080 and 8090, /tmp/airlock-quickstart)"
tests/quickstart/run.sh

printf '\nall tests passed\n'
