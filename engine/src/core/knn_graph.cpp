// The shape and value checks every reducer applies to its kNN graph.
#include <cmath>
#include <limits>

#include "prism/knn.hpp"

namespace prism {

void check_knn_graph(const KnnGraph& g, const char* who, bool allow_missing) {
  PRISM_EXPECTS(g.n >= 2, who, " needs at least 2 points, got ", g.n);
  PRISM_EXPECTS(g.k >= 1, who, " needs a kNN graph with k >= 1, got k = ", g.k);
  PRISM_EXPECTS(g.n <= std::numeric_limits<int32_t>::max(), who,
                " supports at most 2^31 - 1 points, got ", g.n);
  const int64_t nk = checked_mul(g.n, g.k);
  PRISM_EXPECTS(static_cast<int64_t>(g.indices.size()) == nk &&
                    static_cast<int64_t>(g.distances.size()) == nk,
                who, ": kNN graph arrays hold ", g.indices.size(), " indices and ",
                g.distances.size(), " distances, expected n * k = ", nk);
  for (int64_t i = 0; i < g.n; ++i) {
    const int32_t* nb = g.neighbors(i);
    const float* d = g.dists(i);
    for (int j = 0; j < g.k; ++j) {
      if (allow_missing && nb[j] == -1) continue;
      PRISM_EXPECTS(nb[j] >= 0 && nb[j] < g.n && nb[j] != i, who, ": kNN graph row ", i,
                    " neighbour ", j, " is ", nb[j], ": must be another point in [0, ", g.n, ")");
      PRISM_EXPECTS(std::isfinite(d[j]) && d[j] >= 0, who, ": kNN graph row ", i, " distance ", j,
                    " is ", d[j], ": distances must be finite and >= 0");
    }
  }
}

}  // namespace prism
