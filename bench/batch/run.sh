#!/usr/bin/env bash
# make bench-batch: `nalar batch` against the same job done without Nalar, in the same run.
#  1. The fraud model over a generated CSV of BATCH_ROWS (10,000,000) transactions: Nalar vs
#     pandas (chunks) + sklearn's GradientBoostingClassifier. rows/s and peak RSS.
#  2. The digits CNN over BATCH_IMAGES (10,000) generated JPEGs: Nalar vs a Pillow + PyTorch
#     DataLoader script. images/s and peak RSS.
# Writes the batch section of bench/RESULTS.md.   bench/batch/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${BATCH_ROWS:-10000000}
IMAGES=${BATCH_IMAGES:-10000}
THREADS=${THREADS:-2}
if [ "${1:-}" = "--quick" ]; then ROWS=${BATCH_ROWS:-1000000}; IMAGES=${BATCH_IMAGES:-2000}; fi
W=bench/.batch
NALAR=build/nalar
mkdir -p "$W"
RAW="$W/raw.jsonl"
: > "$RAW"

# The fraud model and the sklearn model it was converted from, made together.
DATA=tests/data/pipelines
if [ ! -f "$DATA/reference/fraud_gbt.pkl" ] || [ ! -f "$DATA/repository/fraud/1/model.onnx" ]; then
  DATA="$W/models"
  if [ ! -f "$DATA/reference/fraud_gbt.pkl" ]; then
    /usr/bin/python3 models/fraud/train_fraud.py "$DATA/repository" --reference "$DATA/reference"
    /usr/bin/python3 models/digits/train_digits.py "$DATA/repository"
  fi
fi
THRESHOLD=$(/usr/bin/python3 -c "import json; print(json.load(open('$DATA/repository/fraud/pipeline.json'))['output']['threshold'])")

CSV="$W/transactions-$ROWS.csv"
if [ ! -f "$CSV" ]; then
  echo "bench-batch: generating $ROWS transactions"
  /usr/bin/python3 models/fraud/generate_transactions.py --rows "$ROWS" --out "$CSV.tmp" --seed 11
  mv "$CSV.tmp" "$CSV"
fi
JPEGS="$W/jpegs-$IMAGES"
if [ ! -d "$JPEGS" ]; then
  echo "bench-batch: generating $IMAGES JPEGs"
  /usr/bin/python3 bench/batch/make_digit_jpegs.py "$JPEGS.tmp" "$IMAGES" 64
  mv "$JPEGS.tmp" "$JPEGS"
fi

# run NAME KIND COMMAND...: records {"name", "kind", "rows_per_s", "seconds", "peak_rss_mb"}.
run() {
  local name=$1 kind=$2; shift 2
  rm -rf "$W/out" && mkdir -p "$W/out"
  local t0 t1 rss json
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$W/time.txt" "$@" > "$W/stdout.txt"
  t1=$(date +%s.%N)
  rss=$(tail -n 1 "$W/time.txt")
  json=$(tail -n 1 "$W/stdout.txt")
  /usr/bin/python3 - "$name" "$kind" "$rss" "$t0" "$t1" "$json" >> "$RAW" <<'PY'
import json, sys
name, kind, rss, t0, t1, out = sys.argv[1:7]
o = json.loads(out)
rows = o.get("rows", o.get("rows_read"))
secs = float(t1) - float(t0)  # wall time of the whole command, start-up included
print(json.dumps({"name": name, "kind": kind, "rows": rows, "seconds": round(secs, 2),
                  "rows_per_s": round(rows / secs, 1), "peak_rss_mb": round(int(rss) / 1024, 1)}))
PY
  tail -n 1 "$RAW"
}

echo "bench-batch: fraud, $ROWS rows, $THREADS threads"
run nalar fraud "$NALAR" batch --model "$DATA/repository/fraud" --input "$CSV" \
  --output "$W/out/nalar.csv" --keep-columns transaction_id --threads "$THREADS" --quiet --json
cp "$W/out/nalar.csv" "$W/nalar_fraud.csv"
run pandas_sklearn fraud /usr/bin/python3 bench/batch/fraud_pandas.py \
  "$DATA/reference/fraud_gbt.pkl" "$CSV" "$W/out/pandas.csv" "$THRESHOLD"
# Same answers: decisions equal row for row, probabilities within 1e-5.
/usr/bin/python3 - "$W/nalar_fraud.csv" "$W/out/pandas.csv" >> "$W/agree.txt" <<'PY'
import sys
a, b = open(sys.argv[1]), open(sys.argv[2])
next(a); next(b)
n = bad_dec = bad_p = 0
for la, lb in zip(a, b):
    ia, _, pa, da = la.rstrip("\n").split(",")
    ib, _, pb, db = lb.rstrip("\n").split(",")
    n += 1
    bad_dec += (da == "true") != (db == "True") or ia != ib
    bad_p += abs(float(pa) - float(pb)) > 1e-5
print(f"fraud: {n} rows compared, {bad_dec} decisions differ, {bad_p} probabilities differ by > 1e-5")
PY
tail -n 1 "$W/agree.txt"

echo "bench-batch: images, $IMAGES JPEGs"
run nalar images "$NALAR" batch --model "$DATA/repository/digits" --input "$JPEGS" \
  --output "$W/out/nalar.csv" --batch-size 64 --threads "$THREADS" --quiet --json
run pillow_torch_dataloader images /usr/bin/python3 bench/batch/digits_torch.py \
  "$DATA/repository/digits" "$JPEGS" "$W/out/torch.csv" 64 2 "$THREADS"

/usr/bin/python3 bench/batch/report.py "$RAW" "$W/agree.txt" bench/RESULTS.md "$ROWS" "$IMAGES" "$THREADS"
