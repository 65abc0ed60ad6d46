#pragma once
// The peers of `prism bench --peers` (umap-learn, openTSNE, scikit-learn),
// run through bench/peers/prism_peers.py on the same data with the same
// parameters, at their best unless asked otherwise (JIT warmed and excluded,
// unseeded and parallel; see that script's header).
#include <string>
#include <vector>

#include "prism/pipeline.hpp"

namespace prism::app {

/// The peers that implement `method` ("umap" -> umap-learn, ...).
std::vector<std::string> peers_for(Method method);

/// What a peer run reported.
struct PeerResult {
  std::string name;             ///< "umap-learn 0.5.12"
  double seconds = 0;           ///< the fit, kNN included, warm-up excluded
  double warmup_seconds = 0;    ///< the JIT warm-up on a small slice (0: none)
  bool seeded = false;          ///< random_state was passed (umap-learn: one thread)
  int threads = 0;              ///< threads of the main optimisation
  double peak_mib = 0;
  Matrix y;                     ///< the embedding
};

/// Runs peer `impl` on `x_npy` (a float32 .npy) with the parameters of
/// `params` (method, dims, seed, perplexity / n_neighbors / min_dist /
/// pca_dims / metric), in scratch folder `dir`. `seeded`: pass the seed on
/// (reproducible, slower for umap-learn). The interpreter is $PRISM_PYTHON
/// (default python3 from PATH), the script $PRISM_PEERS or the installed /
/// source copy of prism_peers.py. It is started with
/// posix_spawnp (no shell: any path works); throws RuntimeError with the
/// peer's last line of output when it fails or is not installed.
PeerResult run_peer(const std::string& impl, const std::string& x_npy, const ReduceParams& params, bool seeded,
                    const std::string& dir);

}  // namespace prism::app
