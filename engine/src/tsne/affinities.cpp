// Input similarities: perplexity calibration (Gaussian kernel per point over
// its kNN) and symmetrisation into a sparse joint distribution P.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tsne/stages.hpp"

namespace prism::tsne {

namespace {

// Entropy of the row's P for precision `beta` over shifted squared distances
// `delta` (delta_0 = 0 for the nearest), writing the normalised P into `p`.
double row_entropy(const double* delta, int k, double beta, double* p) {
  double sum = 0;
  for (int j = 0; j < k; ++j) {
    p[j] = std::exp(-beta * delta[j]);
    sum += p[j];
  }
  // delta >= 0 and the nearest has delta = 0, so sum >= 1: no division by zero.
  double weighted = 0;
  for (int j = 0; j < k; ++j) {
    p[j] /= sum;
    weighted += p[j] * delta[j];
  }
  return std::log(sum) + beta * weighted;
}

}  // namespace

ConditionalP calibrate_perplexity(const KnnGraph& g, double perplexity) {
  PRISM_EXPECTS(perplexity > 0 && std::isfinite(perplexity), "perplexity must be > 0, got ", perplexity);
  check_knn_graph(g, "t-SNE");
  const int k = g.k;
  ConditionalP c{g.n, k, std::vector<double>(static_cast<size_t>(g.n) * k), std::vector<double>(g.n)};
  // The entropy can at most be log(k) (uniform row): beyond that no beta fits.
  const double target = std::log(std::min(perplexity, static_cast<double>(k)));

#pragma omp parallel
  {
    std::vector<double> delta(k);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < g.n; ++i) {
      const float* d = g.dists(i);
      double dmin = std::numeric_limits<double>::infinity();
      for (int j = 0; j < k; ++j) dmin = std::min(dmin, double(d[j]) * d[j]);
      double mean = 0;
      for (int j = 0; j < k; ++j) {
        delta[j] = double(d[j]) * d[j] - dmin;
        mean += delta[j];
      }
      mean /= k;
      double* p = c.p.data() + i * k;
      // Start at the scale of the distances so the search takes few steps.
      double beta = mean > 0 ? 1.0 / mean : 1.0;
      double lo = 0, hi = std::numeric_limits<double>::infinity();
      for (int it = 0; it < 200; ++it) {
        const double h = row_entropy(delta.data(), k, beta, p);
        if (std::abs(h - target) < kEntropyTolerance) break;
        if (h > target) {  // too flat: sharpen
          lo = beta;
          beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
        } else {
          hi = beta;
          beta = (beta + lo) / 2;
        }
      }
      row_entropy(delta.data(), k, beta, p);
      c.beta[i] = beta;
    }
  }
  return c;
}

SparseP symmetrize(const KnnGraph& g, const ConditionalP& c) {
  const int64_t n = g.n;
  const int k = g.k;
  // Row i of P + P^T holds i's own neighbours and every j that lists i.
  std::vector<int64_t> count(n, k);
  for (int64_t e = 0; e < n * k; ++e) ++count[g.indices[e]];
  std::vector<int64_t> start(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) start[i + 1] = start[i] + count[i];
  std::vector<int32_t> tcol(start[n]);
  std::vector<double> tval(start[n]);
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t* nb = g.neighbors(i);
    for (int j = 0; j < k; ++j) {
      const double v = c.p[i * k + j];
      tcol[fill[i]] = nb[j];
      tval[fill[i]++] = v;
      tcol[fill[nb[j]]] = static_cast<int32_t>(i);
      tval[fill[nb[j]]++] = v;
    }
  }

  // Sort each row by column and merge duplicates (i lists j and j lists i, or a
  // graph row repeating a neighbour). The fill order above is fixed, and the
  // stable sort keeps it, so the merged sums are reproducible.
  std::vector<int64_t> unique_count(n);
#pragma omp parallel
  {
    std::vector<int32_t> order;
    std::vector<int32_t> cols;
    std::vector<double> vals;
#pragma omp for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = start[i], len = start[i + 1] - start[i];
      order.resize(len);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t bb) { return tcol[b + a] < tcol[b + bb]; });
      cols.clear();
      vals.clear();
      for (int64_t t = 0; t < len; ++t) {
        const int32_t col = tcol[b + order[t]];
        const double v = tval[b + order[t]];
        if (!cols.empty() && cols.back() == col)
          vals.back() += v;
        else {
          cols.push_back(col);
          vals.push_back(v);
        }
      }
      std::copy(cols.begin(), cols.end(), tcol.begin() + b);
      std::copy(vals.begin(), vals.end(), tval.begin() + b);
      unique_count[i] = static_cast<int64_t>(cols.size());
    }
  }

  SparseP p;
  p.n = n;
  p.row_ptr.assign(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) p.row_ptr[i + 1] = p.row_ptr[i] + unique_count[i];
  p.col.resize(p.row_ptr[n]);
  p.val.resize(p.row_ptr[n]);
  // Each conditional row sums to 1, so the total is 2N up to rounding; divide
  // by the actual total so that P sums to 1 as closely as floats allow.
  double total = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < unique_count[i]; ++t) total += tval[start[i] + t];
  PRISM_CHECK(total > 0, "affinities sum to ", total);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = 0; t < unique_count[i]; ++t) {
      p.col[p.row_ptr[i] + t] = tcol[start[i] + t];
      p.val[p.row_ptr[i] + t] = static_cast<float>(tval[start[i] + t] / total);
    }
  }
  return p;
}

}  // namespace prism::tsne

namespace prism {

SparseP tsne_affinities(const KnnGraph& graph, double perplexity) {
  return tsne::symmetrize(graph, tsne::calibrate_perplexity(graph, perplexity));
}

}  // namespace prism
