// The `nalar` command: one subcommand per job.
#include <cstring>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/openmp_policy.h"

namespace {

const char* kUsage =
    "usage: nalar <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect MODEL [--json]            inputs, outputs, opsets and operators of an ONNX model\n"
    "  run MODEL [--input NAME=FILE.npy]... [--input-dir DIR] [--output-dir DIR] [--threads N]\n"
    "                                    run a model on .npy inputs, write one .npy per output\n"
    "  run MODEL_DIR [--image FILE | --record JSON | --text TEXT]... [--top-k K] [--json]\n"
    "                                    raw examples through the model's pipeline.json\n"
    "  bench MODEL [--batch N] [--threads N] [--warmup W] [--iterations K]\n"
    "              [--shape NAME=D0xD1x...]... [--json]\n"
    "                                    latency and throughput on random inputs\n"
    "  serve --model-repository DIR [--http-port 8000] [--model-control-mode none|poll|explicit]\n"
    "                                    KServe v2 REST server over a Triton model repository\n"
    "  batch --model MODEL --input PATH_OR_GLOB --output PATH [...]   (and: batch merge ...)\n"
    "                                    predictions for every row of a dataset, resumable\n"
    "\n"
    "Run 'nalar <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  using nalar::cli::WaitPolicy;
  if (cmd == "run" || cmd == "bench" || cmd == "serve")
    nalar::cli::apply_openmp_wait_policy(WaitPolicy::kShortSpin, argv);
  if (cmd == "batch")
    nalar::cli::apply_openmp_wait_policy(WaitPolicy::kPassive, argv);
  if (cmd == "inspect") return nalar::cli::inspect_main(argc - 2, argv + 2);
  if (cmd == "run") return nalar::cli::run_main(argc - 2, argv + 2);
  if (cmd == "bench") return nalar::cli::bench_main(argc - 2, argv + 2);
  if (cmd == "serve") return nalar::cli::serve_main(argc - 2, argv + 2);
  if (cmd == "batch") return nalar::cli::batch_main(argc - 2, argv + 2);
  std::cerr << "nalar: unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}
