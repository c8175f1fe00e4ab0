#!/usr/bin/env bash
# Tile figures: full level-0 tiles and full entry bundles (random ones among those the log has)
# with $CONNECTIONS connections (wrk), beside a static file served by the same server in the
# same run, and the ratio of tiles to the static file.
# The log is seeded by the audit_follow_bench example (`--serve`), which keeps the server up.
# Needs wrk (apt-get install -y wrk). PROFILE=debug checks the script quickly without a release
# build.
# Usage: bench/tiles.sh [LEAVES=1000000 DURATION=20 CONNECTIONS=64 PROFILE=release]
set -euo pipefail
cd "$(dirname "$0")/.."

LEAVES=${LEAVES:-1000000}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PROFILE=${PROFILE:-release}

if [ "$PROFILE" = release ]; then
  cargo build --release --quiet --bin zhonglian --example audit_follow_bench
else
  cargo build --quiet --bin zhonglian --example audit_follow_bench
fi
TARGET="${CARGO_TARGET_DIR:-target}/$PROFILE"
WORK=$(mktemp -d /tmp/zhonglian-tiles.XXXXXX)
setsid "$TARGET/examples/audit_follow_bench" "$LEAVES" --serve "$WORK/url" >"$WORK/log" 2>&1 &
SEEDER=$!
cleanup() {
  kill -INT "$SEEDER" 2>/dev/null || true
  wait "$SEEDER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

until [ -s "$WORK/url" ]; do
  kill -0 "$SEEDER" 2>/dev/null || { cat "$WORK/log"; exit 1; }
  sleep 1
done
BASE=$(sed -n 1p "$WORK/url")
SIZE=$(sed -n 2p "$WORK/url")
FULL=$((SIZE / 256))
[ "$FULL" -ge 1 ] || { echo "need at least 256 leaves for a full tile"; exit 1; }

# Random full tiles: index N in x-prefixed groups of three digits, as tlog-tiles writes it.
cat >"$WORK/tiles.lua" <<LUA
local full = $FULL
local kind = os.getenv("TILE_KIND") or "0"
local function index(n)
  local s = string.format("%03d", n % 1000)
  n = math.floor(n / 1000)
  while n > 0 do
    s = string.format("x%03d/%s", n % 1000, s)
    n = math.floor(n / 1000)
  end
  return s
end
request = function()
  return wrk.format("GET", "/ledger/tlog/tile/" .. kind .. "/" .. index(math.random(0, full - 1)))
end
LUA

declare -a ROWS
run() {
  local name=$1; shift
  local out rps p99 errors
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  LAST_RPS=$rps
  ROWS+=("$(printf '%-36s %12s req/s   p99 %10s  %s' "$name" "$rps" "$p99" "$errors")")
}

curl -fsS -o /dev/null "$BASE/ledger/tlog/tile/0/000"
curl -fsS -o /dev/null "$BASE/static/app.css"
run "static file (/static/app.css)" "$BASE/static/app.css"
STATIC_RPS=$LAST_RPS
TILE_KIND=0 run "full level-0 tiles (8,192 bytes)" -s "$WORK/tiles.lua" "$BASE"
TILE_RPS=$LAST_RPS
TILE_KIND=entries run "full entry bundles (8,704 bytes)" -s "$WORK/tiles.lua" "$BASE"
BUNDLE_RPS=$LAST_RPS

echo "tiles over $SIZE leaves, $CONNECTIONS connections, ${DURATION}s each ($PROFILE build)"
printf '%s\n' "${ROWS[@]}"
awk -v t="$TILE_RPS" -v b="$BUNDLE_RPS" -v s="$STATIC_RPS" \
  'BEGIN { printf "ratio tiles / static file: %.2f; bundles / static file: %.2f\n", t / s, b / s }'
