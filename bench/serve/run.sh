#!/usr/bin/env bash
# Serving benchmark (`make bench-serve`): nalar serve on loopback driven by nalar-loadgen (REST
# JSON, REST binary, gRPC; closed loop) and wrk, against nginx answering a static 200 as the
# ceiling, in one run; writes the serve section of bench/RESULTS.md.
#   bench/serve/run.sh [--quick]      SERVE_BENCH_SECONDS, SERVE_BENCH_REPS override
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
SECS=${SERVE_BENCH_SECONDS:-$([ "$QUICK" = 1 ] && echo 2 || echo 5)}
REPS=${SERVE_BENCH_REPS:-$([ "$QUICK" = 1 ] && echo 1 || echo 3)}
WARM=1
CORES=$(nproc)
LOADGEN=$ROOT/build/nalar-loadgen
NALAR=$ROOT/build/nalar

# Bench-only tools from Debian. Installing nginx starts its service on port 80: stop it again.
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  echo "bench-serve: installing wrk and nginx-light"
  apt-get install -y wrk nginx-light >/dev/null
  (service nginx stop || nginx -s stop) >/dev/null 2>&1 || true
fi
[ -x "$NALAR" ] && [ -x "$LOADGEN" ] || { echo "build first: ninja -C build nalar nalar-loadgen"; exit 1; }

TMP=$(mktemp -d /tmp/nalar-bench-serve.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- models: the tabular MLP and resnet18 (batch dim dynamic), a tiny 4-16-3 MLP ---
/usr/bin/python3 bench/export_bench_models.py bench/.models --only mlp,resnet18 >/dev/null
/usr/bin/python3 models/repository/make_repository.py "$TMP/gen" >/dev/null
REPO=$TMP/repo
model_dir() {  # name source.onnx config-body
  mkdir -p "$REPO/$1/1"
  cp "$2" "$REPO/$1/1/model.onnx"
  printf 'name: "%s"\nplatform: "onnxruntime_onnx"\n%s\n' "$1" "$3" > "$REPO/$1/config.pbtxt"
}
MLP_IO='input [ { name: "input" data_type: TYPE_FP32 dims: [ 64 ] } ]
output [ { name: "output" data_type: TYPE_FP32 dims: [ 2 ] } ]'
model_dir mlp bench/.models/mlp/model.onnx "max_batch_size: 64
$MLP_IO
dynamic_batching { }"
model_dir mlp_nobatch bench/.models/mlp/model.onnx "max_batch_size: 64
$MLP_IO"
model_dir resnet18 bench/.models/resnet18/model.onnx "max_batch_size: 16
input [ { name: \"input\" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] } ]
output [ { name: \"output\" data_type: TYPE_FP32 dims: [ 1000 ] } ]
dynamic_batching { }"
model_dir tiny "$TMP/gen/mlp/1/model.onnx" "max_batch_size: 8
input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 3 ] } ]"

# --- the server ---
HTTP_PORT=$(free_port); GRPC_PORT=$(free_port); METRICS_PORT=$(free_port)
"$NALAR" serve --model-repository "$REPO" --http-address 127.0.0.1 --http-port "$HTTP_PORT" \
  --grpc-port "$GRPC_PORT" --metrics-port "$METRICS_PORT" > "$TMP/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$HTTP_PORT/v2/health/ready" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$HTTP_PORT/v2/health/ready" >/dev/null || { cat "$TMP/serve.log"; exit 1; }
GRPC=0
if "$LOADGEN" --protocol grpc --server "127.0.0.1:$GRPC_PORT" --model tiny \
     --input INPUT0:FP32:1x4 --duration 0.2 --warmup 0 >/dev/null 2>&1; then GRPC=1; fi
[ "$GRPC" = 1 ] || echo "bench-serve: the server does not answer gRPC: gRPC rows are skipped"

# --- nginx: a static 200 on loopback, one worker per core ---
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx"
cat > "$TMP/nginx/nginx.conf" <<NGX
daemon off;
worker_processes $CORES;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  client_max_body_size 64m;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
}
NGX
nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
PIDS+=($!)
sleep 0.5

RAW=bench/.results/serve_raw.jsonl
mkdir -p bench/.results
: > "$RAW"
# Request bodies for wrk (the same bytes nalar-loadgen sends).
"$LOADGEN" --model tiny --input INPUT0:FP32:1x4 --dump-body "$TMP/tiny.json" >/dev/null

record() {  # tag-json loadgen-args...: one loadgen run appended to RAW
  local tag=$1; shift
  local out
  if out=$("$LOADGEN" --json --duration "$SECS" --warmup "$WARM" "$@" 2>&1); then :; fi
  out=$(printf '%s\n' "$out" | tail -1)
  case "$out" in "{"*) ;; *) out="{\"errors\": -1, \"first_error\": $(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}" ;; esac
  echo "{$tag, \"result\": $out}" >> "$RAW"
}

wrk_run() {  # tag url conc body header-length
  local tag=$1 url=$2 c=$3 body=$4 hl=$5 t=$(( $3 < CORES ? $3 : CORES ))
  local out
  out=$(WRK_BODY=$body WRK_HEADER_LENGTH=$hl wrk -t"$t" -c"$c" -d"$((SECS + WARM))s" --latency \
        -s bench/serve/post.lua "$url" 2>&1 || true)
  printf '%s' "$out" | /usr/bin/python3 bench/serve/parse_wrk.py "$tag" >> "$RAW"
}

stats() {  # model -> "count ns" of compute_infer and success so far
  curl -sf "http://127.0.0.1:$HTTP_PORT/v2/models/$1/stats" | /usr/bin/python3 -c '
import json,sys; s=json.load(sys.stdin)["model_stats"][0]["inference_stats"]
print(s["compute_infer"]["count"], s["compute_infer"]["ns"], s["success"]["count"], s["success"]["ns"])'
}

H=(--server "127.0.0.1:$HTTP_PORT")
G=(--protocol grpc --server "127.0.0.1:$GRPC_PORT")
for rep in $(seq 1 "$REPS"); do
  # The engine alone on the tiny model (p50 of a single forward pass), for the overhead figure.
  out=$("$NALAR" bench "$REPO/tiny/1/model.onnx" --batch 1 --iterations 3000 --warmup 100 --json 2>/dev/null || echo '{}')
  echo "{\"rep\": $rep, \"scenario\": \"tiny_engine\", \"c\": 1, \"result\": $out}" >> "$RAW"
  for c in 1 16 64; do
    T=$(( c < CORES ? c : CORES ))
    record "\"rep\": $rep, \"scenario\": \"ceiling\", \"tool\": \"loadgen\", \"target\": \"nginx\", \"c\": $c" \
      --server "127.0.0.1:$NGINX_PORT" --path /static --body "$TMP/tiny.json" --concurrency "$c" --threads "$T"
    before=$(stats tiny)
    record "\"rep\": $rep, \"scenario\": \"tiny\", \"tool\": \"loadgen\", \"proto\": \"rest_json\", \"c\": $c" \
      "${H[@]}" --model tiny --input INPUT0:FP32:1x4 --concurrency "$c" --threads "$T"
    after=$(stats tiny)
    echo "{\"rep\": $rep, \"scenario\": \"tiny_stats\", \"c\": $c, \"before\": [${before// /, }], \"after\": [${after// /, }]}" >> "$RAW"
    for model in mlp resnet18; do
      if [ "$model" = mlp ]; then spec=input:FP32:1x64; else spec=input:FP32:1x3x224x224; fi
      record "\"rep\": $rep, \"scenario\": \"$model\", \"tool\": \"loadgen\", \"proto\": \"rest_json\", \"c\": $c" \
        "${H[@]}" --model "$model" --input "$spec" --concurrency "$c" --threads "$T"
      record "\"rep\": $rep, \"scenario\": \"$model\", \"tool\": \"loadgen\", \"proto\": \"rest_binary\", \"c\": $c" \
        "${H[@]}" --model "$model" --input "$spec" --format binary --concurrency "$c" --threads "$T"
      if [ "$GRPC" = 1 ]; then
        record "\"rep\": $rep, \"scenario\": \"$model\", \"tool\": \"loadgen\", \"proto\": \"grpc\", \"c\": $c" \
          "${G[@]}" --model "$model" --input "$spec" --concurrency "$c"
      fi
    done
  done
  record "\"rep\": $rep, \"scenario\": \"nobatch\", \"tool\": \"loadgen\", \"proto\": \"rest_binary\", \"c\": 64" \
    "${H[@]}" --model mlp_nobatch --input input:FP32:1x64 --format binary --concurrency 64 --threads "$CORES"
  record "\"rep\": $rep, \"scenario\": \"batch\", \"tool\": \"loadgen\", \"proto\": \"rest_binary\", \"c\": 64" \
    "${H[@]}" --model mlp --input input:FP32:1x64 --format binary --concurrency 64 --threads "$CORES"
  for c in 16 64; do
    wrk_run "\"rep\": $rep, \"scenario\": \"ceiling\", \"tool\": \"wrk\", \"target\": \"nginx\", \"c\": $c" \
      "http://127.0.0.1:$NGINX_PORT/static" "$c" "$TMP/tiny.json" 0
    wrk_run "\"rep\": $rep, \"scenario\": \"tiny\", \"tool\": \"wrk\", \"proto\": \"rest_json\", \"c\": $c" \
      "http://127.0.0.1:$HTTP_PORT/v2/models/tiny/infer" "$c" "$TMP/tiny.json" 0
  done
  echo "bench-serve: repetition $rep of $REPS done"
done
/usr/bin/python3 bench/serve/report.py "$RAW" "$SECS" "$REPS" "$GRPC" | /usr/bin/python3 bench/results_section.py serve
sed -n '/<!-- serve:begin -->/,/<!-- serve:end -->/p' bench/RESULTS.md
