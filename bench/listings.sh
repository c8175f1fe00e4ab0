#!/usr/bin/env bash
# Listing figures on a release build: the project page, the /projects listing and search over
# $PROJECTS projects, with $CONNECTIONS concurrent connections (wrk), and `pgbench -S` on the same
# cluster in the same run, for scale; then search latency at a fixed rate (examples/open_load.rs).
# Needs wrk, psql and pgbench (apt-get install -y wrk postgresql-client).
# The project `bench-1` carries $COMMENTS comments (bench/comments.sql): its page and its
# discussion page are measured beside a project page without comments.
# Usage: bench/listings.sh [PROJECTS=10000 DURATION=20 CONNECTIONS=64 COMMENTS=10000]
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECTS=${PROJECTS:-10000}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
COMMENTS=${COMMENTS:-10000}
THREADS=${THREADS:-2}
PORT=${PORT:-18080}
export PROJECTS

cargo build --release --quiet --bin zhonglian --example open_load
DATA=$(mktemp -d /tmp/zhonglian-bench.XXXXXX)
# The embedded cluster runs as the postgres user when we are root; it must reach its folder.
chmod 755 "$DATA"
LOG="$DATA/server.log"
ZHONGLIAN_DATA_DIR="$DATA" BIND="127.0.0.1:$PORT" MIN_CAMPAIGN_SECONDS=0 RUST_LOG=warn \
  "${CARGO_TARGET_DIR:-target}"/release/zhonglian serve >"$LOG" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$LOG"; exit 1; }

PGUSER=postgres
[ "$(id -u)" = 0 ] || PGUSER=$(id -un)
PG=(-h "$DATA/pg" -U "$PGUSER")
echo "seeding $PROJECTS projects..."
psql "${PG[@]}" -d zhonglian -q -v projects="$PROJECTS" -f bench/seed.sql
echo "seeding $COMMENTS comments on bench-1..."
psql "${PG[@]}" -d zhonglian -q -v comments="$COMMENTS" -f bench/comments.sql
createdb "${PG[@]}" pgbench
pgbench "${PG[@]}" -i -s 10 -q pgbench >/dev/null 2>&1

BASE="http://127.0.0.1:$PORT"
declare -a ROWS
run() {
  local name=$1; shift
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  LAST_RPS=$rps
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
  ROWS+=("$(printf '%-34s %12s req/s   p99 %10s  %s' "$name" "$rps" "$p99" "$errors")")
}

curl -fsS -o /dev/null "$BASE/projects/bench-1" && curl -fsS -o /dev/null "$BASE/projects"
run "project page (/projects/{slug})" -s bench/pages.lua "$BASE"
PAGE_RPS=$LAST_RPS
run "one project page, no comments" "$BASE/projects/bench-2"
BARE_RPS=$LAST_RPS
run "one project page, $COMMENTS comments" "$BASE/projects/bench-1"
COMMENTED_RPS=$LAST_RPS
run "its discussion page (first page)" "$BASE/projects/bench-1/comments"
DISCUSSION_RPS=$LAST_RPS
run "listing (/projects)" "$BASE/projects"
run "listing, ending soon, food" "$BASE/projects?sort=ending&category=food"
run "search API (bench/search.txt)" -s bench/search.lua "$BASE"
CONNECTIONS=8 run "search API, 8 connections" -s bench/search.lua "$BASE"
# Open loop: requests sent at a fixed rate, each timed from when it was due, at half and at
# seven tenths of the rate the 8 connections reached.
SEARCH_RATE=${LAST_RPS%.*}
for share in 50 70; do
  rate=$((SEARCH_RATE * share / 100))
  ROWS+=("$(printf '%-34s %s' "search, open loop at ${share}%" \
    "$("${CARGO_TARGET_DIR:-target}"/release/examples/open_load --url "$BASE" --paths bench/search.txt \
         --rate "$rate" --seconds "$DURATION")")")
done
PGB=$(pgbench "${PG[@]}" -S -n -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" pgbench 2>/dev/null)
PGB_TPS=$(awk -F'= ' '/^tps/ {print $2}' <<<"$PGB" | awk '{print $1}')
PGB_LAT=$(awk -F'= ' '/latency average/ {print $2}' <<<"$PGB")

echo
echo "$PROJECTS projects, $CONNECTIONS connections, ${DURATION}s each, $(nproc) cores"
printf '%s\n' "${ROWS[@]}"
printf '%-34s %12s tps     avg latency %s\n' "pgbench -S (same cluster)" "$PGB_TPS" "$PGB_LAT"
awk -v page="$PAGE_RPS" -v pgb="$PGB_TPS" \
  'BEGIN { printf "project page rate: %.1f%% of pgbench -S (target >= 25%%)\n", 100 * page / pgb }'
awk -v bare="$BARE_RPS" -v commented="$COMMENTED_RPS" -v discussion="$DISCUSSION_RPS" -v pgb="$PGB_TPS" \
  'BEGIN { printf "with comments: project page %.1f%% of the page without (%.1f%% of pgbench -S), discussion page %.1f%% of pgbench -S\n",
           100 * commented / bare, 100 * commented / pgb, 100 * discussion / pgb }'
