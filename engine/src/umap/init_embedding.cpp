// Initial layouts (umap-learn's spectral_layout / multi_component_layout,
// noisy_scale_coords, init="random"), and the [0, 10] box rescaling that
// simplicial_set_embedding applies before optimising.
#include <Eigen/Dense>
#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <numeric>

#include "umap_internal.hpp"

namespace prism::umap {

namespace {

/// One connected component as a CSR graph over local ids 0..m-1.
struct Component {
  std::vector<int64_t> vertices;  // global ids, ascending
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> col;
  std::vector<double> val;
};

/// Connected components by breadth-first search; labels in order of first vertex.
std::vector<std::vector<int64_t>> connected_components(const FuzzyGraph& g) {
  std::vector<int32_t> label(g.n, -1);
  std::vector<std::vector<int64_t>> comps;
  std::vector<int64_t> queue;
  for (int64_t s = 0; s < g.n; ++s) {
    if (label[s] >= 0) continue;
    const int32_t c = static_cast<int32_t>(comps.size());
    queue.assign(1, s);
    label[s] = c;
    for (size_t h = 0; h < queue.size(); ++h) {
      const int64_t v = queue[h];
      for (int64_t e = g.row_ptr[v]; e < g.row_ptr[v + 1]; ++e)
        if (label[g.col[e]] < 0) {
          label[g.col[e]] = c;
          queue.push_back(g.col[e]);
        }
    }
    std::sort(queue.begin(), queue.end());
    comps.push_back(queue);
  }
  return comps;
}

Component extract(const FuzzyGraph& g, std::vector<int64_t> vertices, std::vector<int32_t>& local) {
  Component c;
  c.vertices = std::move(vertices);
  const int64_t m = static_cast<int64_t>(c.vertices.size());
  for (int64_t i = 0; i < m; ++i) local[c.vertices[i]] = static_cast<int32_t>(i);
  c.row_ptr.assign(m + 1, 0);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t v = c.vertices[i];
    c.row_ptr[i + 1] = c.row_ptr[i] + (g.row_ptr[v + 1] - g.row_ptr[v]);
  }
  c.col.resize(c.row_ptr[m]);
  c.val.resize(c.row_ptr[m]);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t v = c.vertices[i];
    int64_t o = c.row_ptr[i];
    for (int64_t e = g.row_ptr[v]; e < g.row_ptr[v + 1]; ++e, ++o) {
      c.col[o] = local[g.col[e]];
      c.val[o] = g.val[e];
    }
  }
  return c;
}

/// y = (D^-1/2 A D^-1/2 - u0 u0^T) x for Spectra. u0 = D^1/2 1 / |D^1/2 1| is the
/// trivial eigenvector (eigenvalue 1); deflating it leaves exactly the vectors
/// umap-learn keeps (eigsh on the Laplacian, dropping the smallest) as the
/// largest eigenvalues. Rows run in parallel with no reduction across threads,
/// so the product is the same for any thread count.
class NormalisedAdjacency {
 public:
  using Scalar = double;
  /// `parallel`: spread each product over the threads (large components; small
  /// ones are solved several at once, one per thread, with serial products).
  NormalisedAdjacency(const Component& c, const Progress* stop, bool parallel)
      : c_(c), stop_(stop), parallel_(parallel) {
    const int64_t m = static_cast<int64_t>(c.vertices.size());
    inv_sqrt_deg_.resize(m);
    u0_.resize(m);
    double norm = 0;
    for (int64_t i = 0; i < m; ++i) {
      double d = 0;
      for (int64_t e = c.row_ptr[i]; e < c.row_ptr[i + 1]; ++e) d += c.val[e];
      inv_sqrt_deg_[i] = d > 0 ? 1.0 / std::sqrt(d) : 0.0;
      u0_[i] = std::sqrt(d);
      norm += d;
    }
    norm = std::sqrt(norm);
    for (auto& u : u0_) u /= norm;
  }
  Eigen::Index rows() const { return static_cast<Eigen::Index>(u0_.size()); }
  Eigen::Index cols() const { return rows(); }
  void perform_op(const double* x, double* y) const {
    if (stop_ && stop_->aborted()) throw Interrupted();  // serial here: not inside the parallel loop
    const int64_t m = rows();
    double dot = 0;
    for (int64_t i = 0; i < m; ++i) dot += u0_[i] * x[i];
#pragma omp parallel for schedule(static) if (parallel_)
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (int64_t e = c_.row_ptr[i]; e < c_.row_ptr[i + 1]; ++e)
        s += c_.val[e] * inv_sqrt_deg_[c_.col[e]] * x[c_.col[e]];
      y[i] = s * inv_sqrt_deg_[i] - dot * u0_[i];
    }
  }
  /// Dense copy of the operator, for small components.
  Eigen::MatrixXd dense() const {
    const int64_t m = rows();
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(m, m);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t e = c_.row_ptr[i]; e < c_.row_ptr[i + 1]; ++e)
        a(i, c_.col[e]) += c_.val[e] * inv_sqrt_deg_[i] * inv_sqrt_deg_[c_.col[e]];
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) a(i, j) -= u0_[i] * u0_[j];
    return a;
  }

 private:
  const Component& c_;
  const Progress* stop_;
  bool parallel_;
  std::vector<double> inv_sqrt_deg_;
  std::vector<double> u0_;
};

/// The `dims` leading non-trivial eigenvectors of one component (m x dims,
/// column-major); false when the eigensolver does not converge.
bool component_eigenvectors(const Component& c, int dims, Eigen::MatrixXd& vecs, const Progress* stop,
                            bool parallel = true) {
  const int64_t m = static_cast<int64_t>(c.vertices.size());
  NormalisedAdjacency op(c, stop, parallel);
  // Below a few hundred points a dense solver is both faster and cannot fail to converge.
  if (m <= 512) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(op.dense());
    if (es.info() != Eigen::Success) return false;
    // Ascending eigenvalues: the largest are the last columns.
    vecs.resize(m, dims);
    for (int j = 0; j < dims; ++j) vecs.col(j) = es.eigenvectors().col(m - 1 - j);
    return vecs.allFinite();
  }
  // umap-learn asks eigsh for ncv = max(2k + 1, sqrt(n)) Lanczos vectors and tol 1e-4;
  // the same here (capped: the orthogonalisation cost grows as n * ncv^2).
  const int64_t ncv = std::min<int64_t>(
      m, std::max<int64_t>(2 * dims + 1,
                           std::min<int64_t>(64, static_cast<int64_t>(std::sqrt(double(m))))));
  Spectra::SymEigsSolver<NormalisedAdjacency> eigs(op, dims, ncv);
  eigs.init();  // Spectra's fixed-seed start vector: deterministic
  // Restarts are capped: a graph that needs more is better served by the
  // fallback than by minutes of Lanczos iterations.
  eigs.compute(Spectra::SortRule::LargestAlge, 1000, 1e-4, Spectra::SortRule::LargestAlge);
  if (eigs.info() != Spectra::CompInfo::Successful) return false;
  vecs = eigs.eigenvectors();
  return vecs.rows() == m && vecs.cols() == dims && vecs.allFinite();
}

}  // namespace

}  // namespace prism::umap

namespace prism {

bool umap_spectral_layout_cpu(const FuzzyGraph& g, int dims, uint64_t seed, Matrix& out,
                              const Progress* stop) {
  using namespace umap;
  const auto comps = connected_components(g);
  const int64_t nc = static_cast<int64_t>(comps.size());
  out = Matrix(g.n, dims);
  std::vector<int32_t> local(g.n, -1);

  if (nc == 1) {
    Component c = extract(g, comps[0], local);
    if (static_cast<int64_t>(c.vertices.size()) <= dims + 1) return false;
    Eigen::MatrixXd v;
    if (!component_eigenvectors(c, dims, v, stop)) return false;
    for (int64_t i = 0; i < g.n; ++i)
      for (int j = 0; j < dims; ++j) out(i, j) = static_cast<float>(v(i, j));
    return true;
  }

  // multi_component_layout: one centre per component; each component's own
  // spectral layout is scaled to half the distance to the nearest other centre.
  // With up to 2 * dims components the centres are +-unit axes as in
  // umap-learn; beyond that (where umap-learn lays out the components' data
  // centroids, which the graph alone does not give) a regular grid.
  Eigen::MatrixXd meta = Eigen::MatrixXd::Zero(nc, dims);
  if (nc <= 2 * dims) {
    const int64_t k = (nc + 1) / 2;
    for (int64_t c = 0; c < nc; ++c) meta(c, c % k) = c < k ? 1.0 : -1.0;
  } else {
    const int64_t side =
        static_cast<int64_t>(std::ceil(std::pow(static_cast<double>(nc), 1.0 / dims) - 1e-9));
    for (int64_t c = 0; c < nc; ++c) {
      int64_t r = c;
      for (int j = 0; j < dims; ++j) {
        meta(c, j) = static_cast<double>(r % side);
        r /= side;
      }
    }
  }
  // Components are independent (disjoint vertex sets, so they share `local`
  // safely): the small ones are solved several at once, one per thread with
  // serial sparse products; a graph of many small components (1M points in
  // 1,000 clusters) otherwise paid a parallel-region start per Lanczos step,
  // 37 s of the 1M-point run. Large ones follow, each product parallel. The
  // result does not depend on the thread count.
  auto layout_component = [&](int64_t ci, bool parallel) {
    double nearest = std::numeric_limits<double>::infinity();
    for (int64_t cj = 0; cj < nc; ++cj)
      if (cj != ci) nearest = std::min(nearest, (meta.row(ci) - meta.row(cj)).norm());
    const double range = nearest / 2;
    Component c = extract(g, comps[ci], local);
    const int64_t m = static_cast<int64_t>(c.vertices.size());
    Eigen::MatrixXd v;
    bool spectral = m >= 2 * dims && m > dims + 1;
    if (spectral) spectral = component_eigenvectors(c, dims, v, stop, parallel);
    if (spectral) {
      const double vmax = v.cwiseAbs().maxCoeff();
      if (vmax > 0) v *= range / vmax;
    } else {
      // Tiny components (and, rarely, one whose eigensolve fails) are scattered
      // uniformly around their centre, as umap-learn does for tiny ones.
      v.resize(m, dims);
      for (int64_t i = 0; i < m; ++i) {
        Rng rng(seed, 0xC0C0, static_cast<uint64_t>(c.vertices[i]));
        for (int j = 0; j < dims; ++j) v(i, j) = (2 * rng.uniform() - 1) * range;
      }
    }
    for (int64_t i = 0; i < m; ++i)
      for (int j = 0; j < dims; ++j)
        out(c.vertices[i], j) = static_cast<float>(v(i, j) + meta(ci, j));
  };
  constexpr int64_t kParallelComponent = 50000;  // vertices from which one solve uses every thread
  // An exception may not leave a parallel region: the first one (Ctrl-C's
  // Interrupted, or the solver's) is kept, the remaining components skipped,
  // and it is rethrown after the loop.
  std::exception_ptr failure;
  bool failed = false;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t ci = 0; ci < nc; ++ci) {
    if (static_cast<int64_t>(comps[ci].size()) >= kParallelComponent) continue;
    bool skip;
#pragma omp atomic read
    skip = failed;
    if (skip) continue;
    try {
      layout_component(ci, false);
    } catch (...) {
#pragma omp critical(prism_spectral_failure)
      if (!failure) failure = std::current_exception();
#pragma omp atomic write
      failed = true;
    }
  }
  if (failure) std::rethrow_exception(failure);
  for (int64_t ci = 0; ci < nc; ++ci)
    if (static_cast<int64_t>(comps[ci].size()) >= kParallelComponent) layout_component(ci, true);
  return true;
}

}  // namespace prism

namespace prism::umap {

void noisy_scale_coords(Matrix& y, uint64_t seed, double max_coord, double noise) {
  float vmax = 0;
  for (float v : y.storage()) vmax = std::max(vmax, std::abs(v));
  const double expansion = vmax > 0 ? max_coord / vmax : 1.0;
  const int64_t d = y.cols();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < y.rows(); ++i) {
    Rng rng(seed, 0x401533, static_cast<uint64_t>(i));
    for (int64_t j = 0; j < d; ++j)
      y(i, j) = static_cast<float>(y(i, j) * expansion + noise * rng.normal());
  }
}

Matrix random_layout(int64_t n, int dims, uint64_t seed) {
  Matrix y(n, dims);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    Rng rng(seed, 0x4A4D0, static_cast<uint64_t>(i));
    for (int j = 0; j < dims; ++j) y(i, j) = static_cast<float>(20 * rng.uniform() - 10);
  }
  return y;
}

void rescale_to_box(Matrix& y) {
  for (int64_t j = 0; j < y.cols(); ++j) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t i = 0; i < y.rows(); ++i) {
      lo = std::min(lo, y(i, j));
      hi = std::max(hi, y(i, j));
    }
    // A column with no spread (one point, or all equal) stays at 0 instead of 0/0.
    const float scale = hi > lo ? 10.0f / (hi - lo) : 0.0f;
    for (int64_t i = 0; i < y.rows(); ++i) y(i, j) = (y(i, j) - lo) * scale;
  }
}

}  // namespace prism::umap
