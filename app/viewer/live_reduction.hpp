#pragma once
// Runs a reduction on a worker thread (prepare_reduction + Reducer::step) and
// hands the embedding to the UI thread as it changes, through the engine's
// Progress hook (positions_every / positions / aborted), so the viewer's
// animation and its Stop button use the same path as the CLI's progress bar.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "prism/matrix.hpp"
#include "prism/pipeline.hpp"
#include "prism/progress.hpp"

namespace prism::app::viewer {

class LiveReduction {
 public:
  LiveReduction() = default;
  ~LiveReduction();  ///< stops and joins

  /// Starts reducing `x` (which must outlive the run) with `params`; stops a run in progress first.
  void start(ConstView x, const ReduceParams& params);
  /// Asks the run to stop after the current step (non-blocking).
  void stop();
  /// Stops and waits for the worker.
  void join();
  bool running() const { return running_; }

  /// Copies the newest embedding into `out` when it changed since `*version`
  /// (updated); returns whether it did.
  bool take(Matrix& out, uint64_t* version);

  struct Status {
    std::string stage;     ///< "knn", "affinities", "optimise", ... or "done"/"stopped"/"error"
    int64_t done = 0, total = 0;
    double objective = 0;  ///< NaN when not computed
    double seconds = 0;
    std::string error;     ///< what failed, when stage == "error"
    std::vector<std::string> warnings;  ///< fallbacks the run took (Progress::warning)
  };
  Status status() const;

 private:
  class Hook;
  void publish(ConstView y);
  void run(ConstView x, ReduceParams params);

  std::thread worker_;
  std::atomic<bool> stop_{false}, running_{false};
  mutable std::mutex mutex_;
  Matrix latest_;
  uint64_t version_ = 0;
  Status status_;
};

}  // namespace prism::app::viewer
