// The `nalar` subcommands. Each takes the arguments after its name and returns an exit code.
#pragma once

namespace nalar::cli {

int inspect_main(int argc, char** argv);
int run_main(int argc, char** argv);
int bench_main(int argc, char** argv);
int serve_main(int argc, char** argv);
int batch_main(int argc, char** argv);

}  // namespace nalar::cli
