#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time from a seed corpus; any crash, leak or UB fails.
#   run_fuzz.sh FUZZER SECONDS SEED_FILE...
set -euo pipefail
fuzzer=$1; seconds=$2; shift 2
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
i=0
for seed in "$@"; do
  [ -f "$seed" ] && cp "$seed" "$corpus/seed$i" && i=$((i + 1))
done
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
