// Times ONNX Runtime (npm onnxruntime-node) on one model, the way `nalar bench --json` does:
// random inputs, warm-up runs, then timed runs; prints one JSON object.
//   node ort_bench.js MODEL SPEC_JSON THREADS WARMUP ITERATIONS
// SPEC_JSON: [{"name": "...", "dtype": "float32|int64|...", "shape": [..]}, ...]
const path = require('path');
const ort = require(path.join(__dirname, '..', '.peers', 'node_modules', 'onnxruntime-node'));

function randomTensor(spec) {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const ctor = {float32: Float32Array, int64: BigInt64Array, int32: Int32Array,
                bool: Uint8Array, float64: Float64Array}[spec.dtype];
  const data = new ctor(n);
  for (let i = 0; i < n; ++i) {
    if (spec.dtype === 'int64') data[i] = BigInt(Math.random() < 0.5 ? 0 : 1);
    else if (spec.dtype === 'int32' || spec.dtype === 'bool') data[i] = Math.random() < 0.5 ? 0 : 1;
    else data[i] = Math.random() * 2 - 1;
  }
  return new ort.Tensor(spec.dtype, data, spec.shape);
}

async function main() {
  const [model, specJson, threads, warmup, iterations] = process.argv.slice(2);
  const specs = JSON.parse(specJson);
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential'});
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {};
  for (const s of specs) feeds[s.name] = randomTensor(s);
  for (let i = 0; i < Number(warmup); ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < Number(iterations); ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const pct = (q) => sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const batch = specs.length ? specs[0].shape[0] : 1;
  console.log(JSON.stringify({
    runtime: 'onnxruntime', version: ort.env.versions ? ort.env.versions.common : '',
    latency_ms: {min: sorted[0], p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), mean},
    throughput_per_s: batch * 1000 / mean,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024, load_ms: loadMs}));
}
main().catch((e) => { console.error('ort_bench: ' + e.message); process.exit(1); });
