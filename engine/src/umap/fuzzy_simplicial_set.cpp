// The fuzzy simplicial set of the kNN graph (umap-learn's fuzzy_simplicial_set):
// smooth_knn_dist, compute_membership_strengths, then the fuzzy set union
// A + A^T - A o A^T (mixed with the intersection by set_op_mix_ratio).
#include <algorithm>
#include <cmath>
#include <limits>

#include "umap_internal.hpp"

namespace prism::umap {

namespace {
// umap-learn's constants (umap/umap_.py).
constexpr double kSmoothKTolerance = 1e-5;
constexpr double kMinKDistScale = 1e-3;
}  // namespace

void smooth_knn_dist(const float* dists, int64_t n, int k, double local_connectivity,
                     float* sigma, float* rho, int n_iter, double bandwidth) {
  const double target = std::log2(static_cast<double>(k)) * bandwidth;
  // The global mean distance is the floor for rows whose rho is 0.
  double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t i = 0; i < n * k; ++i) total += dists[i];
  const double mean_distances = n * k > 0 ? total / static_cast<double>(n * k) : 0.0;

#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* d = dists + i * k;
    // rho: distance to the local_connectivity-th nearest neighbour at a non-zero
    // distance, interpolated for fractional connectivity.
    double r = 0;
    int nonzero = 0;
    double max_nonzero = 0;
    for (int j = 0; j < k; ++j)
      if (d[j] > 0) {
        ++nonzero;
        max_nonzero = std::max(max_nonzero, static_cast<double>(d[j]));
      }
    if (nonzero >= local_connectivity) {
      const int index = static_cast<int>(std::floor(local_connectivity));
      const double interpolation = local_connectivity - index;
      // The index-th non-zero distance (lists are sorted, zeros come first).
      auto nz = [&](int m) {
        int seen = 0;
        for (int j = 0; j < k; ++j)
          if (d[j] > 0 && seen++ == m) return static_cast<double>(d[j]);
        return max_nonzero;
      };
      if (index > 0) {
        r = nz(index - 1);
        if (interpolation > kSmoothKTolerance) r += interpolation * (nz(index) - nz(index - 1));
      } else {
        r = interpolation * nz(0);
      }
    } else if (nonzero > 0) {
      r = max_nonzero;
    }

    double lo = 0, hi = std::numeric_limits<double>::infinity(), mid = 1.0;
    for (int it = 0; it < n_iter; ++it) {
      double psum = 0;
      for (int j = 0; j < k; ++j) {
        const double t = d[j] - r;
        psum += t > 0 ? std::exp(-(t / mid)) : 1.0;
      }
      if (std::abs(psum - target) < kSmoothKTolerance) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = std::isinf(hi) ? mid * 2 : (lo + hi) / 2;
      }
    }
    double s = mid;
    // Keep sigma away from 0 so that near-duplicate points do not get infinite scales.
    double mean_row = 0;
    for (int j = 0; j < k; ++j) mean_row += d[j];
    mean_row /= k;
    const double floor = kMinKDistScale * (r > 0 ? mean_row : mean_distances);
    if (s < floor) s = floor;
    sigma[i] = static_cast<float>(s);
    rho[i] = static_cast<float>(r);
  }
}

void membership_strengths(const int32_t* indices, const float* dists, int64_t n, int k,
                          const float* sigma, const float* rho, float* w) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < k; ++j) {
      const int64_t e = i * k + j;
      const double t = static_cast<double>(dists[e]) - rho[i];
      if (indices[e] < 0)
        w[e] = 0.0f;
      else if (t <= 0 || sigma[i] == 0)
        w[e] = 1.0f;
      else
        w[e] = static_cast<float>(std::exp(-(t / sigma[i])));
    }
  }
}

}  // namespace prism::umap

namespace prism {

FuzzyGraph umap_prune_graph(const FuzzyGraph& g, int n_epochs) {
  PRISM_CHECK(n_epochs > 0, "n_epochs = ", n_epochs);
  float vmax = 0;
  for (float v : g.val) vmax = std::max(vmax, v);
  const float cut = vmax / static_cast<float>(n_epochs);
  FuzzyGraph out;
  out.n = g.n;
  out.row_ptr.assign(g.n + 1, 0);
  for (int64_t i = 0; i < g.n; ++i) {
    int64_t c = 0;
    for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e) c += g.val[e] >= cut;
    out.row_ptr[i + 1] = out.row_ptr[i] + c;
  }
  out.col.resize(out.row_ptr[g.n]);
  out.val.resize(out.row_ptr[g.n]);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g.n; ++i) {
    int64_t o = out.row_ptr[i];
    for (int64_t e = g.row_ptr[i]; e < g.row_ptr[i + 1]; ++e)
      if (g.val[e] >= cut) {
        out.col[o] = g.col[e];
        out.val[o++] = g.val[e];
      }
  }
  return out;
}

FuzzyGraph umap_fuzzy_graph(const KnnGraph& graph, const UmapParams& params) {
  const int64_t n = graph.n;
  PRISM_EXPECTS(n >= 2, "UMAP needs at least 2 points, got ", n);
  PRISM_EXPECTS(graph.k >= 1, "UMAP needs a kNN graph with k >= 1");
  PRISM_EXPECTS(params.n_neighbors >= 2, "UMAP n_neighbors must be >= 2, got ", params.n_neighbors);
  PRISM_EXPECTS(params.set_op_mix_ratio >= 0 && params.set_op_mix_ratio <= 1,
                "UMAP set_op_mix_ratio must be in [0, 1], got ", params.set_op_mix_ratio);
  PRISM_EXPECTS(params.local_connectivity >= 0, "UMAP local_connectivity must be >= 0");
  PRISM_CHECK(static_cast<int64_t>(graph.indices.size()) == checked_mul(n, graph.k) &&
                  graph.distances.size() == graph.indices.size(),
              "kNN graph arrays do not match n x k");
  PRISM_EXPECTS(n <= std::numeric_limits<int32_t>::max(), "UMAP supports up to 2^31 points");

  // A graph built with more neighbours than asked for is cut to n_neighbors.
  const int k = std::min(graph.k, params.n_neighbors);
  std::vector<int32_t> idx;
  std::vector<float> dist;
  const int32_t* ip = graph.indices.data();
  const float* dp = graph.distances.data();
  if (k != graph.k) {
    idx.resize(static_cast<size_t>(n) * k);
    dist.resize(idx.size());
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < k; ++j) {
        idx[i * k + j] = graph.indices[i * graph.k + j];
        dist[i * k + j] = graph.distances[i * graph.k + j];
      }
    ip = idx.data();
    dp = dist.data();
  }

  std::vector<float> sigma(n), rho(n), w(static_cast<size_t>(n) * k);
  umap::smooth_knn_dist(dp, n, k, params.local_connectivity, sigma.data(), rho.data());
  umap::membership_strengths(ip, dp, n, k, sigma.data(), rho.data(), w.data());

  // Checked before the parallel loops: an exception must not leave an OpenMP region.
  for (int64_t e = 0; e < n * k; ++e)
    PRISM_EXPECTS(ip[e] < n, "kNN graph index ", ip[e], " out of range for ", n, " points");

  // A as CSR with each row sorted by column; self loops and invalid ids dropped,
  // a repeated neighbour keeps its largest weight.
  std::vector<int64_t> a_ptr(n + 1);
  std::vector<int32_t> a_col(static_cast<size_t>(n) * k);
  std::vector<float> a_val(a_col.size());
  std::vector<int32_t> a_len(n);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    std::pair<int32_t, float> row[1024];
    std::vector<std::pair<int32_t, float>> big;
    std::pair<int32_t, float>* r = row;
    if (k > 1024) {
      big.resize(k);
      r = big.data();
    }
    int m = 0;
    for (int j = 0; j < k; ++j) {
      const int32_t c = ip[i * k + j];
      if (c < 0 || c == i || w[i * k + j] <= 0) continue;
      r[m++] = {c, w[i * k + j]};
    }
    std::sort(r, r + m);
    int u = 0;
    for (int j = 0; j < m; ++j) {
      if (u > 0 && r[u - 1].first == r[j].first)
        r[u - 1].second = std::max(r[u - 1].second, r[j].second);
      else
        r[u++] = r[j];
    }
    for (int j = 0; j < u; ++j) {
      a_col[i * k + j] = r[j].first;
      a_val[i * k + j] = r[j].second;
    }
    a_len[i] = u;
  }

  // A^T by counting sort: its rows come out sorted by column.
  std::vector<int64_t> t_ptr(n + 1, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < a_len[i]; ++j) ++t_ptr[a_col[i * k + j] + 1];
  for (int64_t i = 0; i < n; ++i) t_ptr[i + 1] += t_ptr[i];
  std::vector<int32_t> t_col(t_ptr[n]);
  std::vector<float> t_val(t_ptr[n]);
  {
    std::vector<int64_t> fill(t_ptr.begin(), t_ptr.end() - 1);
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < a_len[i]; ++j) {
        const int64_t o = fill[a_col[i * k + j]]++;
        t_col[o] = static_cast<int32_t>(i);
        t_val[o] = a_val[i * k + j];
      }
  }

  // Row i of the result merges row i of A and of A^T:
  //   mix * (a + t - a t) + (1 - mix) * a t.
  const double mix = params.set_op_mix_ratio;
  auto merge_row = [&](int64_t i, int32_t* out_col, float* out_val) {
    int64_t p = 0, q = t_ptr[i], o = 0;
    const int64_t pe = a_len[i], qe = t_ptr[i + 1];
    const int32_t* ac = a_col.data() + i * k;
    const float* av = a_val.data() + i * k;
    while (p < pe || q < qe) {
      int32_t c;
      double a = 0, t = 0;
      if (q >= qe || (p < pe && ac[p] < t_col[q])) {
        c = ac[p];
        a = av[p++];
      } else if (p >= pe || t_col[q] < ac[p]) {
        c = t_col[q];
        t = t_val[q++];
      } else {
        c = ac[p];
        a = av[p++];
        t = t_val[q++];
      }
      const double prod = a * t;
      const double v = mix * (a + t - prod) + (1 - mix) * prod;
      if (v > 0) {  // eliminate_zeros
        if (out_col) {
          out_col[o] = c;
          out_val[o] = static_cast<float>(v);
        }
        ++o;
      }
    }
    return o;
  };

  FuzzyGraph g;
  g.n = n;
  g.row_ptr.assign(n + 1, 0);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) g.row_ptr[i + 1] = merge_row(i, nullptr, nullptr);
  for (int64_t i = 0; i < n; ++i) g.row_ptr[i + 1] += g.row_ptr[i];
  g.col.resize(g.row_ptr[n]);
  g.val.resize(g.row_ptr[n]);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    merge_row(i, g.col.data() + g.row_ptr[i], g.val.data() + g.row_ptr[i]);
  return g;
}

}  // namespace prism
