// nalar run MODEL [--input NAME=FILE.npy]... [--input-dir DIR] [--output-dir DIR] [--threads N]
// nalar run MODEL_DIR [--image FILE]... [--record JSON]... [--text TEXT]... [--top-k K] [--json]
//               [--precision fp32|bf16|int8]
#include <filesystem>
#include <iostream>
#include <set>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_dir.h"
#include "cli/run_examples.h"
#include "core/npy.h"
#include "nalar/session.h"

namespace nalar::cli {

namespace fs = std::filesystem;

namespace {

const char* kHelp =
    "usage: nalar run MODEL [--input NAME=FILE.npy]... [--input-dir DIR] [--output-dir DIR]\n"
    "                 [--threads N]\n"
    "       nalar run MODEL_DIR [--image FILE]... [--record JSON]... [--text TEXT]...\n"
    "                 [--top-k K] [--json] [--threads N] [--precision fp32|bf16|int8]\n"
    "Runs MODEL (.onnx) once. Inputs come from --input NAME=FILE.npy, or DIR/<input name>.npy\n"
    "for every input not given explicitly. Each output is written to OUTPUT_DIR/<output name>.npy\n"
    "(default: the current folder) in its own dtype. Exit 0 on success; on failure a one-line\n"
    "reason on stderr and a non-zero exit. --precision sets the arithmetic of the GEMMs (MatMul,\n"
    "Gemm): bf16, or int8 dynamic quantisation; inputs and outputs stay float32.\n"
    "\n"
    "MODEL_DIR is a repository model folder (<version>/model.onnx, the highest version is run)\n"
    "with an optional pipeline.json (src/pipeline/README.md) that prepares raw examples and\n"
    "interprets the outputs:\n"
    "  --image FILE    a JPEG or PNG file (repeatable; image pipelines)\n"
    "  --record JSON   a JSON object of named features, e.g. '{\"amount\": 12.5}' (repeatable;\n"
    "                  tabular pipelines)\n"
    "  --text TEXT     a text (repeatable; text pipelines)\n"
    "  --top-k K       classes to show per example (default: the pipeline's top_k)\n"
    "  --json          print the predictions as one JSON array for programs:\n"
    "                  [{\"top\": [{\"label\", \"index\", \"probability\"}], \"decision\", "
    "\"values\"}]\n"
    "Without --json each example prints its top classes as 'LABEL  PROBABILITY' lines, then\n"
    "'decision: true|false' when the pipeline has a threshold, or 'values: ...' for regression.\n";

// Tensor names may hold characters that are not safe in a file name.
std::string file_name_for(const std::string& tensor_name) {
  std::string s = tensor_name;
  for (char& c : s)
    if (c == '/' || c == '\\') c = '_';
  return s.empty() ? std::string("_") : s;
}

int fail(const std::string& message) {
  std::cerr << "nalar run: " << message << "\n";
  return 1;
}

}  // namespace

int run_main(int argc, char** argv) {
  auto args = Args::parse(argc, argv,
                          {"--input", "--input-dir", "--output-dir", "--threads", "--image",
                           "--record", "--text", "--top-k", "--precision"},
                          {"--help", "--json"});
  if (!args.is_ok()) return fail(args.status().message());
  if (args->has("--help")) {
    std::cout << kHelp;
    return 0;
  }
  if (args->positionals().size() != 1) {
    std::cerr << kHelp;
    return 2;
  }
  auto threads = args->get_int("--threads", 0, 1);
  if (!threads.is_ok()) return fail(threads.status().message());

  std::string model = args->positionals()[0];
  std::string model_dir;
  std::error_code dir_ec;
  if (fs::is_directory(model, dir_ec)) {
    model_dir = model;
    auto file = model_file_in_dir(model_dir);
    if (!file.is_ok()) return fail(file.status().message());
    model = *file;
  }
  const bool examples = args->has("--image") || args->has("--record") || args->has("--text");
  if (examples || args->has("--top-k") || args->has("--json")) {
    if (model_dir.empty())
      return fail("--image, --record, --text, --top-k and --json need a model folder " +
                  std::string("(with pipeline.json), not the file '") + model + "'");
    if (args->has("--input") || args->has("--input-dir") || args->has("--output-dir"))
      return fail("--input, --input-dir and --output-dir do not mix with pipeline examples");
    if (!examples) return fail("give examples with --image, --record or --text");
    auto top_k = args->get_int("--top-k", 0, 1);
    if (!top_k.is_ok()) return fail(top_k.status().message());
    auto precision = parse_precision(args->get("--precision", "fp32"));
    if (!precision.is_ok()) return fail("--precision: " + precision.status().message());
    RunExamplesOptions o;
    o.precision = *precision;
    o.model_dir = model_dir;
    o.model_file = model;
    o.threads = *threads;
    o.top_k = *top_k;
    o.json = args->has("--json");
    o.images = args->all("--image");
    o.records = args->all("--record");
    o.texts = args->all("--text");
    return run_examples(o);
  }

  SessionOptions options;
  options.num_threads = *threads;
  auto precision = parse_precision(args->get("--precision", "fp32"));
  if (!precision.is_ok()) return fail("--precision: " + precision.status().message());
  options.precision = *precision;
  auto session = Session::load(model, options);
  if (!session.is_ok()) return fail(session.status().message());

  NamedTensors inputs;
  std::set<std::string> given;
  for (const auto& spec : args->all("--input")) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return fail("--input expects NAME=FILE.npy, got '" + spec + "'");
    auto t = read_npy(spec.substr(eq + 1));
    if (!t.is_ok()) return fail(t.status().message());
    inputs.emplace_back(spec.substr(0, eq), std::move(t).value());
    given.insert(spec.substr(0, eq));
  }
  const std::string input_dir = args->get("--input-dir");
  if (!input_dir.empty() && !fs::is_directory(input_dir))
    return fail("--input-dir '" + input_dir + "' is not a folder");
  for (const auto& in : (*session)->inputs()) {
    if (given.count(in.name) || input_dir.empty()) continue;
    fs::path p = fs::path(input_dir) / (file_name_for(in.name) + ".npy");
    if (!fs::exists(p)) continue;  // Session::run names any input still missing
    auto t = read_npy(p.string());
    if (!t.is_ok()) return fail(t.status().message());
    inputs.emplace_back(in.name, std::move(t).value());
  }

  auto outputs = (*session)->run(inputs);
  if (!outputs.is_ok()) return fail(outputs.status().message());

  const fs::path out_dir = args->get("--output-dir", ".");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return fail("cannot create --output-dir '" + out_dir.string() + "': " + ec.message());
  for (const auto& [name, tensor] : *outputs) {
    fs::path p = out_dir / (file_name_for(name) + ".npy");
    Status st = write_npy(p.string(), tensor);
    if (!st.is_ok()) return fail(st.message());
    std::cout << p.string() << ": " << tensor.describe() << "\n";
  }
  return 0;
}

}  // namespace nalar::cli
