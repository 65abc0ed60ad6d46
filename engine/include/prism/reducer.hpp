#pragma once
// The reducer interface every method implements on every backend: the
// pipeline prepares it (affinities, initial layout), then calls step() until
// done. The CLI, the viewer's live animation and benchmarks all drive it.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "prism/backend.hpp"
#include "prism/matrix.hpp"
#include "prism/progress.hpp"

namespace prism {

enum class Method { pca, tsne, umap };
/// How the optimisers start: PCA of the input, seeded random, or the graph's
/// spectral embedding (UMAP only).
enum class Init { pca, random, spectral };

Method parse_method(const std::string& s);
Init parse_init(const std::string& s);
const char* to_string(Method m);
const char* to_string(Init i);

class Reducer {
 public:
  virtual ~Reducer() = default;
  /// Iterations (t-SNE) or epochs (UMAP) in all.
  virtual int64_t total_steps() const = 0;
  virtual int64_t steps_done() const = 0;
  bool done() const { return steps_done() >= total_steps(); }
  /// Runs one iteration/epoch.
  virtual void step() = 0;
  /// The current embedding, n x dims, in host memory (a GPU reducer copies it
  /// back on demand). Valid until the next step().
  virtual ConstView embedding() = 0;
  /// Current objective (t-SNE: KL divergence of P and Q; NaN when not defined).
  virtual double objective() { return std::numeric_limits<double>::quiet_NaN(); }
  /// Which backend runs it.
  virtual Backend backend() const = 0;
};

/// Steps `r` to the end (or until progress->aborted()), reporting progress as
/// stage `stage`; objective() is reported every `objective_every` steps (0: never).
void run_reducer(Reducer& r, Progress* progress, std::string_view stage = "optimise",
                 int64_t objective_every = 50);

}  // namespace prism
