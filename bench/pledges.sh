#!/usr/bin/env bash
# Pledge throughput over HTTP against pgbench on the same cluster, in one run.
#
#   bench/pledges.sh [rounds] [seconds] [clients]
#
# Starts the release server on a fresh data folder (its embedded PostgreSQL, durable settings),
# then for each round: pgbench's default TPC-B-like script, the `spread` scenario (each client
# its own projects), the `hot` scenario (every client on one limited tier) and the `orders`
# scenario (buy orders in one open auction, each by its own investor), each for the same
# number of seconds with the same number of clients. Prints every round and the medians, the
# ratios to pgbench and the server's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-15}
clients=${3:-32}
port=${BENCH_PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}

cargo build --release --quiet --bin zhonglian --example pledge_load
data=$(mktemp -d /tmp/zhonglian-pledge-bench.XXXXXX)
# The embedded cluster runs as `postgres` when we are root; it must reach its folder.
chmod 755 "$data"
pg_user=postgres
[ "$(id -u)" -eq 0 ] || pg_user=$USER
bin_dir=$(dirname "$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | head -1 || command -v pgbench)")
pgbench="$bin_dir/pgbench"
psql="$bin_dir/psql"

ZHONGLIAN_DATA_DIR=$data BIND=127.0.0.1:$port RUST_LOG=warn \
  "${CARGO_TARGET_DIR:-target}"/release/zhonglian serve >"$data/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT INT TERM
for _ in $(seq 1 300); do
  kill -0 "$server" 2>/dev/null || { cat "$data/server.log"; exit 1; }
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null

"$psql" -q -h "$data/pg" -U "$pg_user" -d postgres -c "CREATE DATABASE pgbench" >/dev/null
"$pgbench" -q -i -h "$data/pg" -U "$pg_user" pgbench >/dev/null 2>&1

results=$data/results.txt
for round in $(seq 1 "$rounds"); do
  tps=$("$pgbench" -h "$data/pg" -U "$pg_user" -c "$clients" -j 2 -T "$seconds" pgbench 2>/dev/null \
        | awk '/^tps/ {print $3; exit}')
  echo "round $round pgbench tps=$tps"
  echo "pgbench $tps" >>"$results"
  for scenario in spread hot orders; do
    [ "$scenario" = spread ] && capacity=$(( seconds * 4000 )) || capacity=$(( seconds * 1500 ))
    line=$("${CARGO_TARGET_DIR:-target}"/release/examples/pledge_load --url "http://127.0.0.1:$port" --data-dir "$data" \
             --clients "$clients" --seconds "$seconds" --scenario "$scenario" \
             --server-pid "$server" --capacity "$capacity")
    echo "round $round $line"
    echo "$scenario $line" >>"$results"
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
pg, runs = [], {"spread": [], "hot": [], "orders": []}
for line in open(sys.argv[1]):
    kind, rest = line.split(" ", 1)
    if kind == "pgbench":
        pg.append(float(rest))
    else:
        runs[kind].append(json.loads(rest))
med = lambda xs: statistics.median(xs) if xs else 0.0
pg_tps = med(pg)
print(f"\npgbench TPC-B-like, median of {len(pg)}: {pg_tps:.0f} tps")
for kind, target in (("spread", 0.50), ("hot", 0.25), ("orders", 0.50)):
    rs = runs[kind]
    rate = med([r["pledges_per_second"] for r in rs])
    p99 = med([r["p99_ms"] for r in rs])
    p50 = med([r["p50_ms"] for r in rs])
    rss = max([r["server_peak_rss_mib"] for r in rs] or [0])
    failed = sum(r["failed"] for r in rs)
    ratio = rate / pg_tps if pg_tps else 0.0
    unit = "orders" if kind == "orders" else "pledges"
    print(f"{kind:>6}: {rate:.0f} {unit}/s (median of {len(rs)}), {ratio:.0%} of pgbench "
          f"(target >= {target:.0%}), p50 {p50:.1f} ms, p99 {p99:.1f} ms (target <= 100), "
          f"peak server RSS {rss} MiB (target <= 150), failed {failed}")
PY
