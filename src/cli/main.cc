// The `nalar` command: one subcommand per job (inspect, run, bench, serve, batch).
#include <cstring>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::cout << "usage: nalar <inspect|run|bench> ...\n";
    return argc < 2 ? 2 : 0;
  }
  std::cerr << "nalar: unknown command '" << argv[1] << "'\n";
  return 2;
}
