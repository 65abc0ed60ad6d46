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

namespace {

// Row i of `out` may be row i of g.distances: each row is read whole before it is written.
void calibrate_rows(const KnnGraph& g, double perplexity, float* out, double* beta_out) {
  const int k = g.k;
  // The entropy can at most be log(k) (uniform row): beyond that no beta fits.
  const double target = std::log(std::min(perplexity, static_cast<double>(k)));

#pragma omp parallel
  {
    std::vector<double> delta(k), prow(k);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < g.n; ++i) {
      const float* d = g.distances.data() + i * k;
      double dmin = std::numeric_limits<double>::infinity();
      for (int j = 0; j < k; ++j) dmin = std::min(dmin, double(d[j]) * d[j]);
      double mean = 0;
      for (int j = 0; j < k; ++j) {
        delta[j] = double(d[j]) * d[j] - dmin;
        mean += delta[j];
      }
      mean /= k;
      std::vector<double>& p = prow;
      // Start at the scale of the distances so the search takes few steps.
      double beta = mean > 0 ? 1.0 / mean : 1.0;
      double lo = 0, hi = std::numeric_limits<double>::infinity();
      for (int it = 0; it < 200; ++it) {
        const double h = row_entropy(delta.data(), k, beta, p.data());
        if (std::abs(h - target) < kEntropyTolerance) break;
        if (h > target) {  // too flat: sharpen
          lo = beta;
          beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
        } else {
          hi = beta;
          beta = (beta + lo) / 2;
        }
      }
      row_entropy(delta.data(), k, beta, p.data());
      for (int j = 0; j < k; ++j) out[i * k + j] = static_cast<float>(p[j]);
      beta_out[i] = beta;
    }
  }
}

}  // namespace

ConditionalP calibrate_perplexity(const KnnGraph& g, double perplexity) {
  PRISM_EXPECTS(perplexity > 0 && std::isfinite(perplexity), "perplexity must be > 0, got ", perplexity);
  check_knn_graph(g, "t-SNE");
  ConditionalP c{g.n, g.k, std::vector<float>(g.distances.size()), std::vector<double>(g.n)};
  calibrate_rows(g, perplexity, c.p.data(), c.beta.data());
  return c;
}

ConditionalP calibrate_perplexity_in_place(KnnGraph& g, double perplexity) {
  PRISM_EXPECTS(perplexity > 0 && std::isfinite(perplexity), "perplexity must be > 0, got ", perplexity);
  check_knn_graph(g, "t-SNE");
  ConditionalP c{g.n, g.k, {}, std::vector<double>(g.n)};
  calibrate_rows(g, perplexity, g.distances.data(), c.beta.data());
  c.p = std::move(g.distances);
  g.distances.clear();
  return c;
}

SparseP symmetrize(const KnnGraph& g, const ConditionalP& c, const std::vector<int32_t>* order) {
  const int64_t n = g.n;
  const int k = g.k;
  const int64_t edges = checked_mul(n, k);
  PRISM_EXPECTS(edges < (int64_t{1} << 32), "t-SNE supports up to 2^32 kNN edges, got ", edges);
  // Output row r is point order[r] (r itself without an order); columns are
  // output numbers too, so the optimiser's renumbering costs no second copy of P.
  std::vector<int32_t> rank;
  if (order) {
    PRISM_CHECK(static_cast<int64_t>(order->size()) == n, "order of ", order->size(), " for ", n, " points");
    rank.resize(n);
    for (int64_t r = 0; r < n; ++r) rank[(*order)[r]] = static_cast<int32_t>(r);
  }
  auto point = [&](int64_t r) { return order ? int64_t{(*order)[r]} : r; };
  auto out_id = [&](int64_t i) { return order ? rank[i] : static_cast<int32_t>(i); };

  // Row r of P + P^T holds r's own neighbours and every point that lists r.
  // Those "reverse" entries are gathered for one block of rows at a time (a
  // scan of the graph per block), so they never all exist at once: at 1M
  // points and k = 90 the full reverse lists and a double-valued copy of P
  // were 2.2 GB of the old 5.3 GB peak.
  std::vector<int64_t> indeg(n + 1, 0);
  for (int64_t e = 0; e < edges; ++e) ++indeg[out_id(g.indices[e])];
  constexpr int kBlocks = 8;
  const int64_t cap = std::max<int64_t>(edges / kBlocks, 1);
  std::vector<int64_t> block_start{0};
  for (int64_t r = 0, acc = 0; r < n; ++r) {
    acc += indeg[r];
    if (acc >= cap && r + 1 < n) block_start.push_back(r + 1), acc = 0;
  }
  block_start.push_back(n);

  // Total of P + P^T before normalising: every conditional value twice.
  double total = 0;
  for (float v : c.p) total += v;
  total *= 2;
  PRISM_CHECK(total > 0, "affinities sum to ", total);

  SparseP p;
  p.n = n;
  p.row_ptr.assign(n + 1, 0);
  std::vector<uint32_t> rev;        // edge ids e (source e / k) listing each row of the block
  std::vector<int64_t> rev_start;   // per row of the block, into rev
  // pass 0 counts each row's distinct columns, pass 1 writes them sorted.
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      for (int64_t r = 0; r < n; ++r) p.row_ptr[r + 1] += p.row_ptr[r];
      p.col.resize(p.row_ptr[n]);
      p.val.resize(p.row_ptr[n]);
    }
    for (size_t b = 0; b + 1 < block_start.size(); ++b) {
      const int64_t r0 = block_start[b], r1 = block_start[b + 1];
      rev_start.assign(r1 - r0 + 1, 0);
      for (int64_t r = r0; r < r1; ++r) rev_start[r - r0 + 1] = rev_start[r - r0] + indeg[r];
      rev.resize(rev_start.back());
      std::vector<int64_t> fill(rev_start.begin(), rev_start.end() - 1);
      // Edges in increasing id: a fixed order, so the merged sums are reproducible.
      for (int64_t e = 0; e < edges; ++e) {
        const int32_t t = out_id(g.indices[e]);
        if (t >= r0 && t < r1) rev[fill[t - r0]++] = static_cast<uint32_t>(e);
      }
#pragma omp parallel
      {
        std::vector<std::pair<int32_t, float>> row;
#pragma omp for schedule(dynamic, 256)
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t i = point(r);
          row.clear();
          for (int s = 0; s < k; ++s) row.emplace_back(out_id(g.indices[i * k + s]), c.p[i * k + s]);
          for (int64_t t = rev_start[r - r0]; t < rev_start[r - r0 + 1]; ++t) {
            const uint32_t e = rev[t];
            row.emplace_back(out_id(static_cast<int64_t>(e / static_cast<uint32_t>(k))), c.p[e]);
          }
          // Sort by column and merge duplicates (i lists j and j lists i, or a
          // graph row repeating a neighbour); ties sort by value, so the order
          // of a sum never depends on the threads.
          std::sort(row.begin(), row.end());
          int64_t w = p.row_ptr[r];
          int64_t distinct = 0;
          for (size_t q = 0; q < row.size();) {
            double v = 0;
            const int32_t col = row[q].first;
            for (; q < row.size() && row[q].first == col; ++q) v += row[q].second;
            ++distinct;
            if (pass == 1) {
              p.col[w] = col;
              p.val[w++] = static_cast<float>(v / total);
            }
          }
          if (pass == 0) p.row_ptr[r + 1] = distinct;
        }
      }
    }
  }
  return p;
}

}  // namespace prism::tsne

namespace prism {

SparseP tsne_affinities(const KnnGraph& graph, double perplexity) {
  return tsne::symmetrize(graph, tsne::calibrate_perplexity(graph, perplexity), nullptr);
}

}  // namespace prism
