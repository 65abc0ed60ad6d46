#pragma once
// Executing a `prism batch` plan: each run's outputs in its own folder, the
// manifest after every run (so a killed batch resumes where it stopped), and
// finished runs skipped while their files still match the manifest.
#include <string>

#include "batch_plan.hpp"

namespace prism::app {

struct BatchCounts {
  int done = 0, skipped = 0, failed = 0;
};

/// Runs every run of `plan` that is not already complete (all, with `force`).
/// A run that fails is recorded with its error and the batch goes on;
/// Interrupted (Ctrl-C) stops it with the manifest up to the last finished run.
/// Test hook: PRISM_BATCH_KILL_AFTER=N raises SIGKILL right after the N-th
/// manifest update, so tests kill a batch at a known point.
BatchCounts run_batch(const Plan& plan, bool force);

}  // namespace prism::app
