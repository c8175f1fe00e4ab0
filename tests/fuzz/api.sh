#!/usr/bin/env bash
# Schema-driven fuzzing of the API: starts the debug server on a private embedded cluster, makes a
# backer and a founder, and runs schemathesis once per role. The server must never answer 5xx,
# every answer must be one the OpenAPI document lists (status, content type, body schema), and no
# request the document allows may be refused.
#
# Builds nothing: run `cargo build` first (or `cargo test`, which builds the binary too).
# Usage: tests/fuzz/api.sh [path/to/zhonglian]   (default: $CARGO_TARGET_DIR or target, debug)
# Environment: FUZZ_MAX_EXAMPLES (default 40) examples per operation and phase; FUZZ_SEED.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
target_dir=${CARGO_TARGET_DIR:-target}
binary=${1:-$target_dir/debug/zhonglian}
max_examples=${FUZZ_MAX_EXAMPLES:-40}
venv=${XDG_CACHE_HOME:-$HOME/.cache}/zhonglian/schemathesis-$SCHEMATHESIS_VERSION
config=$PWD/tests/fuzz/schemathesis.toml

if [ ! -x "$binary" ]; then
  echo "fuzz-api: no server binary at $binary (run cargo build first)" >&2
  exit 2
fi

if [ ! -x "$venv/bin/schemathesis" ]; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    echo "fuzz-api: installing python3-venv"
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq python3-venv; else sudo apt-get install -y -qq python3-venv; fi
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/zhonglian-fuzz.XXXXXX")
# The embedded cluster runs as `postgres` when we are root: it must be able to enter the folder.
chmod 755 "$work"
server=""
stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$server" 2>/dev/null && kill -KILL "$server"
  fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop_server EXIT INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
env -u DATABASE_URL \
  ZHONGLIAN_DATA_DIR="$work/data" \
  BIND="127.0.0.1:$port" \
  PUBLIC_URL="$base" \
  MIN_CAMPAIGN_SECONDS=0 \
  PAYMENT_PROVIDER=sandbox \
  SIGNUP_LIMIT_PER_HOUR=1000000 \
  RUST_LOG=warn \
  "$binary" serve >"$work/server.log" 2>&1 &
server=$!

for _ in $(seq 1 600); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "fuzz-api: the server stopped before it was healthy:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null

# A signed-up user of `role`; prints its bearer token.
token_for() {
  local role=$1 email="fuzz-$1-$RANDOM$RANDOM@example.com"
  curl -fsS -X POST "$base/api/v1/auth/signup" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"correct horse battery\",\"display_name\":\"Fuzz $role\",\"role\":\"$role\"}" >/dev/null
  curl -fsS -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"correct horse battery\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

# One run per role; logging out is left to a run of its own at the end, since it ends the session
# whose token the other runs use.
run_fuzzer() {
  local token=$1
  shift
  # From the temporary folder, so schemathesis keeps its cache there and not in the checkout.
  (cd "$work" && "$venv/bin/schemathesis" --config-file "$config" run "$base/api/v1/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,positive_data_acceptance \
    --max-examples "$max_examples" \
    ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
    --request-timeout 10 \
    --phases examples,coverage,fuzzing \
    --suppress-health-check all \
    "$@")
}

# Every token is taken before the fuzzer runs: its wrong passwords get this address's log-ins
# throttled (as they should be), and a later log-in would be refused.
backer_token=$(token_for backer)
founder_token=$(token_for founder)
logout_token=$(token_for backer)
for token in "$backer_token" "$founder_token" "$logout_token"; do
  if [ -z "$token" ]; then
    echo "fuzz-api: could not sign up and log in the fuzzer's users" >&2
    exit 1
  fi
done

status=0
echo "fuzz-api: as a backer, $max_examples examples per operation"
run_fuzzer "$backer_token" --exclude-path /api/v1/auth/logout || status=1
echo "fuzz-api: as a founder, $max_examples examples per operation"
run_fuzzer "$founder_token" --exclude-path /api/v1/auth/logout || status=1
echo "fuzz-api: logging out"
run_fuzzer "$logout_token" --include-path /api/v1/auth/logout || status=1

if [ "$status" -ne 0 ]; then
  echo "fuzz-api: failures above; the server's log (last 50 lines):" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
