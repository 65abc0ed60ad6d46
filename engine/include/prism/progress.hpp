#pragma once
// One hook for everything long-running: the CLI's progress bar, the viewer's
// live animation and its Stop button all go through it (uwot-style).
#include <cstdint>
#include <limits>
#include <string_view>

#include "prism/error.hpp"
#include "prism/matrix.hpp"

namespace prism {

class Progress {
 public:
  virtual ~Progress() = default;

  /// A new stage starts ("knn", "affinities", "optimise", ...); `total` steps, 0 if unknown.
  virtual void begin(std::string_view stage, int64_t total) {}
  /// `done` of the stage's steps are finished; `value` is the current objective
  /// (t-SNE KL divergence, NaN when not computed at this step).
  virtual void update(int64_t done, double value) {}
  /// The stage ended.
  virtual void end() {}
  /// Every how many optimiser steps the current embedding should be handed to
  /// `positions` (0: never). The viewer asks for every step.
  virtual int64_t positions_every() const { return 0; }
  /// The current embedding (n rows, dims columns); valid only during the call.
  virtual void positions(ConstView y) {}
  /// True once the caller wants the work to stop; optimisers check it between steps
  /// and return the embedding they have; long stages without an embedding to
  /// return (kNN, PCA, initialisation) throw Interrupted (ProgressScope::check).
  virtual bool aborted() const { return false; }
  /// Something the user should know that is not an error (a fallback taken).
  /// The command line prints it unless --quiet; reports also record it.
  virtual void warning(std::string_view message) {}
};

/// Shortcut for code given an optional Progress*.
class ProgressScope {
 public:
  ProgressScope(Progress* p, std::string_view stage, int64_t total) : p_(p) {
    if (p_) p_->begin(stage, total);
  }
  ~ProgressScope() {
    if (p_) p_->end();
  }
  void update(int64_t done, double value = std::numeric_limits<double>::quiet_NaN()) {
    if (p_) p_->update(done, value);
  }
  bool aborted() const { return p_ && p_->aborted(); }
  /// Throws Interrupted when the caller asked to stop: for stages that have
  /// nothing partial to hand back.
  void check() const {
    if (aborted()) throw Interrupted();
  }
  ProgressScope(const ProgressScope&) = delete;
  ProgressScope& operator=(const ProgressScope&) = delete;

 private:
  Progress* p_;
};

}  // namespace prism
