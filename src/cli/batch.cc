// nalar batch --model MODEL --input PATH_OR_GLOB --output PATH [--format csv|jsonl|npy|images]
//             [--batch-size N] [--threads N] [--shard I/N] [--resume] [--keep-columns a,b]
//             [--errors PATH] [--max-errors N] [--chunk-rows N] [--quiet] [--json]
// nalar batch merge --output PATH SHARD_OUTPUT... [--errors PATH] [--json]
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "batch/job.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace nalar::cli {

namespace {

const char* kHelp =
    "usage: nalar batch --model MODEL --input PATH_OR_GLOB --output PATH\n"
    "                   [--format csv|jsonl|npy|images] [--batch-size N] [--threads N]\n"
    "                   [--shard I/N] [--resume] [--keep-columns a,b] [--errors PATH]\n"
    "                   [--max-errors N] [--chunk-rows N] [--quiet] [--json]\n"
    "       nalar batch merge --output PATH SHARD_OUTPUT... [--errors PATH] [--json]\n"
    "\n"
    "Runs MODEL (an .onnx file, or a repository model directory whose pipeline.json prepares\n"
    "named columns, images or texts) over every row of the input and writes one prediction per\n"
    "row to PATH (.csv, .jsonl or .npy), in input order. Input: CSV with a header, JSON Lines,\n"
    ".npy (rows along dimension 0), image files; a file, a folder or a glob; .gz is read\n"
    "through. Without pipeline.json, a row's numbers (CSV columns that are not --keep-columns,\n"
    "a JSON array, a .npy row) are the model's single input.\n"
    "A row that fails goes to the errors file (default PATH.errors.jsonl: file, row, line, raw,\n"
    "reason) and never stops the job; --max-errors N stops it once more than N rows failed.\n"
    "Output is committed in chunks of --chunk-rows rows (default 65536, images 1024) under\n"
    "PATH.parts/ with a manifest: after a crash, the same command with --resume continues.\n"
    "--shard I/N processes the chunks (s + k) mod N == I (source s, chunk k), so N workers\n"
    "cover the input once; 'nalar batch merge' joins their outputs in input order.\n"
    "--batch-size: rows per forward pass (default 256; 32 for images). --threads: the model's\n"
    "threads (default: one per core). --json prints the summary as one JSON object on stdout.\n";

int fail(const std::string& message, int code = 1) {
  std::cerr << "nalar batch: " << message << "\n";
  return code;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

void print_summary(const batch::JobSummary& s, bool json) {
  const double rate = s.seconds > 0 ? (s.rows_read - s.resumed_rows) / s.seconds : 0;
  std::fprintf(
      stderr,
      "nalar batch: %s: rows read %lld, predicted %lld, failed %lld; %.2f s, %.0f rows/s, "
      "peak RSS %.0f MB%s\n",
      s.already_complete ? "already complete" : "done", static_cast<long long>(s.rows_read),
      static_cast<long long>(s.predicted), static_cast<long long>(s.failed), s.seconds, rate,
      s.peak_rss_mb,
      s.resumed_rows > 0
          ? (" (" + std::to_string(s.resumed_rows) + " rows committed by an earlier run)").c_str()
          : "");
  if (s.failed > 0) std::fprintf(stderr, "nalar batch: failed rows are in %s\n", s.errors.c_str());
  if (json)
    std::printf(
        "{\"rows_read\": %lld, \"predicted\": %lld, \"failed\": %lld, \"resumed_rows\": %lld, "
        "\"seconds\": %.4f, \"rows_per_s\": %.1f, \"peak_rss_mb\": %.1f, \"output\": \"%s\", "
        "\"errors\": \"%s\"}\n",
        static_cast<long long>(s.rows_read), static_cast<long long>(s.predicted),
        static_cast<long long>(s.failed), static_cast<long long>(s.resumed_rows), s.seconds, rate,
        s.peak_rss_mb, s.output.c_str(), s.errors.c_str());
}

int merge_main(int argc, char** argv) {
  auto args = Args::parse(argc, argv, {"--output", "--errors"}, {"--help", "--json"});
  if (!args.is_ok()) return fail(args.status().message(), 2);
  if (args->has("--help")) {
    std::cout << kHelp;
    return 0;
  }
  if (!args->has("--output") || args->positionals().empty()) {
    std::cerr << kHelp;
    return 2;
  }
  const std::string out = args->get("--output");
  auto s =
      batch::merge_shards(args->positionals(), out, args->get("--errors", out + ".errors.jsonl"));
  if (!s.is_ok()) return fail(s.status().message());
  print_summary(*s, args->has("--json"));
  return 0;
}

}  // namespace

int batch_main(int argc, char** argv) {
  if (argc >= 1 && std::string(argv[0]) == "merge") return merge_main(argc - 1, argv + 1);
  auto args = Args::parse(
      argc, argv,
      {"--model", "--input", "--output", "--format", "--batch-size", "--threads", "--shard",
       "--keep-columns", "--errors", "--max-errors", "--chunk-rows", "--prepare-threads"},
      {"--help", "--resume", "--quiet", "--json"});
  if (!args.is_ok()) return fail(args.status().message(), 2);
  if (args->has("--help")) {
    std::cout << kHelp;
    return 0;
  }
  if (!args->has("--model") || !args->has("--input") || !args->has("--output") ||
      !args->positionals().empty()) {
    std::cerr << kHelp;
    return 2;
  }
  batch::JobOptions o;
  o.model = args->get("--model");
  o.input = args->get("--input");
  o.output = args->get("--output");
  o.format = args->get("--format");
  o.errors = args->get("--errors");
  o.shard = args->get("--shard", "0/1");
  o.resume = args->has("--resume");
  o.quiet = args->has("--quiet");
  o.keep_columns = split_list(args->get("--keep-columns"));
  auto bs = args->get_int("--batch-size", 0, 1);
  auto th = args->get_int("--threads", 0, 1);
  auto me = args->get_int("--max-errors", -1, 0);
  auto cr = args->get_int("--chunk-rows", 0, 1);
  auto pt = args->get_int("--prepare-threads", 0, 1);
  for (const auto* r : {&bs, &th, &me, &cr, &pt})
    if (!r->is_ok()) return fail(r->status().message(), 2);
  o.batch_size = *bs;
  o.threads = *th;
  o.max_errors = *me;
  o.chunk_rows = *cr;
  o.prepare_workers = *pt;
  auto s = batch::run_job(o);
  if (!s.is_ok()) return fail(s.status().message());
  print_summary(*s, args->has("--json"));
  return 0;
}

}  // namespace nalar::cli
