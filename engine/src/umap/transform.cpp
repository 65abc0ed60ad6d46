// Embedding new points into a fitted UMAP result (umap-learn's UMAP.transform):
// their kNN among the training points, bipartite memberships with
// local_connectivity - 1, a start at the neighbours' membership-weighted mean,
// then SGD that moves only the new points (move_other = False) at a quarter of
// the learning rate, for n_epochs / 3 epochs (100 or 30 by default).
#include <algorithm>
#include <cmath>

#include "umap_internal.hpp"

namespace prism {

Matrix umap_transform(ConstView train_x, ConstView train_y, ConstView new_x,
                      const UmapParams& params, Metric metric, Progress* progress) {
  PRISM_EXPECTS(train_x.rows == train_y.rows, "UMAP transform: ", train_x.rows,
                " training vectors but ", train_y.rows, " embedded points");
  PRISM_EXPECTS(train_x.rows >= 2, "UMAP transform needs at least 2 training points");
  PRISM_EXPECTS(new_x.cols == train_x.cols, "UMAP transform: new vectors have ", new_x.cols,
                " columns, the training vectors ", train_x.cols);
  PRISM_EXPECTS(train_y.cols >= 1, "UMAP transform: the embedding has no columns");
  PRISM_EXPECTS(params.n_neighbors >= 1, "UMAP n_neighbors must be >= 1");
  PRISM_EXPECTS(params.n_epochs >= 0, "UMAP n_epochs must be >= 0 (0: automatic)");
  const int64_t m = new_x.rows;
  const int dims = static_cast<int>(train_y.cols);
  Matrix out(m, dims);
  if (m == 0) return out;

  const int k = static_cast<int>(std::min<int64_t>(params.n_neighbors, train_x.rows));
  const KnnGraph knn = knn_query(train_x, new_x, k, metric);
  PRISM_CHECK(knn.n == m && knn.k == k, "knn_query returned ", knn.n, " x ", knn.k);

  // Memberships to the training points; the new point's own distance is not in
  // its list, hence local_connectivity - 1 (umap-learn's adjusted_local_connectivity).
  std::vector<float> sigma(m), rho(m), w(static_cast<size_t>(m) * k);
  umap::smooth_knn_dist(knn.distances.data(), m, k, std::max(0.0, params.local_connectivity - 1.0),
                        sigma.data(), rho.data());
  umap::membership_strengths(knn.indices.data(), knn.distances.data(), m, k, sigma.data(), rho.data(),
                       w.data());

  // init_transform: the l1-normalised weighted mean of the neighbours' positions.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += w[i * k + j];
    for (int c = 0; c < dims; ++c) {
      double acc = 0;
      for (int j = 0; j < k; ++j) {
        const int32_t t = knn.indices[i * k + j];
        if (t >= 0) acc += w[i * k + j] * train_y(t, c);
      }
      // All weights underflowed: start at the nearest neighbour.
      out(i, c) = sum > 0 ? static_cast<float>(acc / sum) : train_y(knn.indices[i * k], c);
    }
  }

  // The bipartite graph new point -> training points, pruned and scheduled as a fit's.
  const int n_epochs = params.n_epochs > 0 ? std::max(1, params.n_epochs / 3) : (m <= 10000 ? 100 : 30);
  FuzzyGraph g;
  g.n = m;
  g.row_ptr.assign(m + 1, 0);
  g.col.reserve(w.size());
  g.val.reserve(w.size());
  for (int64_t i = 0; i < m; ++i) {
    for (int j = 0; j < k; ++j)
      if (knn.indices[i * k + j] >= 0 && w[i * k + j] > 0) {
        g.col.push_back(knn.indices[i * k + j]);
        g.val.push_back(w[i * k + j]);
      }
    g.row_ptr[i + 1] = static_cast<int64_t>(g.col.size());
  }
  g = umap_prune_graph(g, n_epochs);

  const auto [a, b] = umap_find_ab(params.spread, params.min_dist);
  umap::SgdState sgd(std::move(g.row_ptr), std::move(g.col),
                     umap_schedule(g.val, n_epochs, params.negative_sample_rate), train_y.rows, dims);
  sgd.a = static_cast<float>(a);
  sgd.b = static_cast<float>(b);
  sgd.gamma = static_cast<float>(params.repulsion_strength);
  sgd.move_other = false;
  sgd.seed = params.seed;
  const float alpha0 = static_cast<float>(params.learning_rate / 4.0);

  // The training embedding may be strided; the SGD reads a contiguous copy.
  const Matrix tail = to_matrix(train_y);
  ProgressScope scope(progress, "transform", n_epochs);
  for (int e = 0; e < n_epochs && !scope.aborted(); ++e) {
    sgd.epoch(e, alpha0 * (1.0f - static_cast<float>(e) / static_cast<float>(n_epochs)), out.data(),
              tail.data());
    scope.update(e + 1);
  }
  return out;
}

}  // namespace prism
