// How the model's OpenMP workers wait between parallel regions. libgomp's default spins for a
// long time (~300k iterations) at every barrier. That is fine on an idle machine, but when the
// cores are shared (other processes, or Nalar's own I/O and preparation threads in serve and
// batch) a spinning worker holds a core that the thread it waits for needs: on 2 busy cores
// runs became 5-15x slower. libgomp reads its policy once at load, so the command sets it and
// executes itself again, before anything else runs.
#pragma once

namespace nalar::cli {

enum class WaitPolicy {
  kShortSpin,  // run, bench, serve: spin briefly (back-to-back regions stay fast), then sleep
  kPassive,    // batch: sleep at once; its reader/writer threads need the cores (~7x there)
};

// Unless the user chose (OMP_WAIT_POLICY or GOMP_SPINCOUNT set) or this is already the second
// start, sets the policy and re-executes /proc/self/exe with `argv` (main's). Returns if the
// re-exec is not needed or fails (then the default policy stays).
void apply_openmp_wait_policy(WaitPolicy policy, char** argv);

}  // namespace nalar::cli
