#!/usr/bin/env bash
# Side-by-side benchmark: Nalar (`nalar bench --json`), ONNX Runtime (npm onnxruntime-node, graph
# optimisation 'all') and PyTorch (Debian) on the same models and thread count, interleaved and
# repeated, then bench/RESULTS.md.   bench/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
THREADS=${THREADS:-2}
PEERS=bench/.peers
MODELS=bench/.models
RAW=bench/.results/raw.jsonl
mkdir -p "$PEERS" "$MODELS" bench/.results
: > "$RAW"

# --ignore-scripts: the package ships its CPU binaries; its install script only fetches GPU extras.
if [ ! -d "$PEERS/node_modules/onnxruntime-node" ]; then
  echo "bench: installing onnxruntime-node into $PEERS"
  npm install --prefix "$PEERS" --no-audit --no-fund --loglevel=error --ignore-scripts onnxruntime-node@1.30.0
fi
/usr/bin/python3 bench/export_bench_models.py "$MODELS"

if [ "$QUICK" = 1 ]; then REPS=1; else REPS=3; fi
# model batch iterations (heavier rows run fewer times)
ROWS="resnet50 1 20|resnet50 32 3|resnet18 1 30|resnet18 32 4|mobilenet_v2 1 50|mobilenet_v2 32 6
efficientnet_b0 1 40|efficientnet_b0 32 5|bert_base 1 10|bert_base 32 2|mlp 1 500|mlp 32 500
gbt 1 500|gbt 32 300"
if [ "$QUICK" = 1 ]; then
  ROWS="resnet50 1 10|resnet18 1 10|mobilenet_v2 1 20|efficientnet_b0 1 20|bert_base 1 4|mlp 1 200|mlp 32 200|gbt 1 200|gbt 32 100"
fi

spec_for() {  # inputs.json with the batch filled in
  /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); [x.update(shape=[int(sys.argv[2])]+x['shape']) for x in s]; print(json.dumps(s))" "$1" "$2"
}

for rep in $(seq 1 "$REPS"); do
  echo "$ROWS" | tr '|' '\n' | while read -r name batch iters; do
    [ -z "$name" ] && continue
    model="$MODELS/$name/model.onnx"
    spec=$(spec_for "$MODELS/$name/inputs.json" "$batch")
    warm=$(( iters < 5 ? 1 : 3 ))
    tag="{\"model\": \"$name\", \"batch\": $batch, \"rep\": $rep"
    if out=$(./build/nalar bench "$model" --batch "$batch" --threads "$THREADS" --warmup "$warm" \
             --iterations "$iters" --json 2>&1); then
      echo "$tag, \"runtime\": \"nalar\", \"result\": $out}" >> "$RAW"
    else
      echo "$tag, \"runtime\": \"nalar\", \"error\": $(printf '%s' "$out" | tail -1 | /usr/bin/python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}" >> "$RAW"
    fi
    if out=$(node bench/peers/ort_bench.js "$model" "$spec" "$THREADS" "$warm" "$iters" 2>&1); then
      echo "$tag, \"runtime\": \"onnxruntime\", \"result\": $out}" >> "$RAW"
    fi
    if out=$(/usr/bin/python3 bench/peers/torch_bench.py "$name" "$MODELS/$name" "$batch" "$THREADS" \
             "$warm" "$iters" 2>/dev/null); then
      echo "$tag, \"runtime\": \"pytorch\", \"result\": $out}" >> "$RAW"
    fi
    echo "bench: $name batch $batch rep $rep done"
  done
done
/usr/bin/python3 bench/report.py "$RAW" "$THREADS" | /usr/bin/python3 bench/results_section.py engine
# The --precision options (bf16, int8) against FP32 and ORT: speedup and output deviation.
if [ "$QUICK" = 1 ]; then PREPS=1; else PREPS=3; fi
/usr/bin/python3 bench/precision.py "$MODELS" "$THREADS" "$PREPS" | /usr/bin/python3 bench/results_section.py precision
cat bench/RESULTS.md
