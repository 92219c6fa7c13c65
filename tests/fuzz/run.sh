#!/usr/bin/env bash
# Fuzz targets (cargo-fuzz, libFuzzer) on stable Rust: builds them, seeds each corpus from the
# examples and tests, replays the saved regressions, then fuzzes each target for SECONDS
# (default 10: the CI smoke run). A crash fails the run and leaves its input under
# tests/fuzz/artifacts/<target>/; copy it to tests/fuzz/regressions/<target>/ with the fix.
#
#     tests/fuzz/run.sh [SECONDS] [TARGET ...]
#     tests/fuzz/run.sh 3600 jsonrpc_parse        # a long run of one target
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-10}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(config_validate rego_lint jsonrpc_parse jwt_validate vpath_resolve pin_match dlp_text)
fi
export PATH="$root/.tools/cargo/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2 --root "$root/.tools/cargo" --quiet
fi
# cargo-fuzz passes unstable flags; with the sanitizer off, stable rustc accepts them this way.
export RUSTC_BOOTSTRAP=1
fuzz() { local command=$1; shift; cargo fuzz "$command" --fuzz-dir tests/fuzz -s none -O "$@"; }
fuzz build

corpus=tests/fuzz/corpus
seed() { mkdir -p "$corpus/$1"; }
# One seed of TARGET per line of standard input.
seed_lines() {
  local target=$1 i=0 line
  seed "$target"
  while IFS= read -r line; do
    i=$((i + 1))
    printf '%s' "$line" > "$corpus/$target/seed-$i"
  done
}
seed config_validate
for f in examples/*/airlock.yaml tests/build/*/airlock.yaml tests/cmd/*.in/airlock.yaml tests/cmd/*.in/*/airlock.yaml; do
  [ -f "$f" ] && cp "$f" "$corpus/config_validate/$(echo "$f" | tr / _)"
done
seed rego_lint
for f in examples/*/*.rego tests/cmd/*.in/*.rego; do
  [ -f "$f" ] && cp "$f" "$corpus/rego_lint/$(echo "$f" | tr / _)"
done
seed_lines jsonrpc_parse <<'JSON'
{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","n":[1,2.5,null,true,{"k":"v"}]}}}
{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"mcp://repo/docs/a.md","_meta":{"progressToken":1}}}
{"jsonrpc":"2.0","id":1,"result":{}}
[{"jsonrpc":"2.0","id":1,"method":"ping"}]
{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list"}
JSON
seed jwt_validate
printf '\000Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln' > "$corpus/jwt_validate/raw"
now=$(date +%s)
printf '\001{"alg":"ES256","kid":"ec-1"}\037{"iss":"http://127.0.0.1:9","aud":"fuzz","sub":"alice","groups":["mcp.users"],"exp":%d}' $((now + 3600)) > "$corpus/jwt_validate/signed"
printf '\001\037{"iss":"http://127.0.0.1:9","aud":["x","fuzz"],"sub":"bob","groups":"mcp.users other","exp":%d,"nbf":%d}' $((now + 3600)) "$now" > "$corpus/jwt_validate/signed-default-header"
seed vpath_resolve
for p in docs/readme.md docs/sub/a.txt readme up/secret.txt etc/passwd proc/etc secret docs/ "" %2e%2e/x docs/%2Fetc 'docs//a' 'docs/./a' 'a%00b'; do
  name=$(printf '%s' "$p" | od -An -tx1 | tr -d ' \n')
  printf '%s' "$p" > "$corpus/vpath_resolve/seed-${name:-empty}"
done
# Each line is two documents, split at the first 0xFF byte.
tr '|' '\377' <<'JSON' | seed_lines pin_match
{"name":"a","description":"Adds.","inputSchema":{"type":"object","properties":{"x":{"minimum":0.0}}}}|{"inputSchema":{"properties":{"x":{"minimum":-0.0}},"type":"object"},"description":"Adds.","name":"a"}
{"name":"a","title":null,"annotations":{"b":1,"a":[1,1.0,-1,null]}}|{"name":"a","annotations":{"a":[1,1.0,-1,null],"b":1},"_meta":{}}
{"name":"\u00e9","inputSchema":{"E":1,"e":2,"\u00e9":3}}|{"name":"é","inputSchema":{"e":2,"é":3,"E":1}}
JSON

seed_lines dlp_text <<'JSON'
{"content":[{"type":"text","text":"a fixed result, with nothing to redact"}]}
{"content":[{"type":"text","text":"mail bob@example.com, key AKIAABCDEFGHIJKLMNOP"}],"bob@example.com":1}
{"content":[{"type":"text","text":"line one\nline two \u0041KIAABCDEFGHIJKLMNOP"}],"isError":false}
["secret","a secret","key","akey","axa","q","z","q\"z"]
{"k":"bob\u0040example.com","n":-1.5e3,"t":true,"x":null,"\u00e9":"caf\u00e9"}
JSON

for target in "${targets[@]}"; do
  if [ -d "tests/fuzz/regressions/$target" ]; then
    echo "==> $target: replaying tests/fuzz/regressions/$target"
    fuzz run "$target" tests/fuzz/regressions/"$target"/* -- -runs=0 > /dev/null 2>&1 \
      || { echo "a saved regression of $target fails again" >&2; exit 1; }
  fi
  echo "==> $target: fuzzing for ${seconds}s"
  log=$(mktemp)
  status=0
  fuzz run "$target" "$corpus/$target" -- -max_total_time="$seconds" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 > "$log" 2>&1 || status=$?
  grep -a -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" | tr '\n' ' ' || true
  echo
  if [ "$status" -ne 0 ]; then
    grep -a -E -A30 '^(==[0-9]+==|thread .* panicked|SUMMARY)' "$log" | head -60 >&2 || tail -40 "$log" >&2
    echo "fuzz target $target failed: its input is in tests/fuzz/artifacts/$target/" >&2
    exit 1
  fi
  rm -f "$log"
done
echo "fuzz: every target ran ${seconds}s without a crash"
