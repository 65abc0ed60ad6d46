// Spectral initialisation on the GPU (see spectral_init_device in
// umap_internal.cuh): Chebyshev-filtered subspace iteration (Zhou & Saad
// 2007) on M = D^-1/2 W D^-1/2. Plain subspace iteration converges at the
// ratio of neighbouring eigenvalues, which for a kNN graph are all within
// ~1e-3 of 1 (a 2000-point 2-D manifold needs thousands of steps); a degree-p
// Chebyshev polynomial on [-1, cut], cut the block's smallest Ritz value,
// damps the unwanted part of the spectrum as fast as Lanczos would. Each
// step is one sparse product (microseconds to milliseconds); the small
// m x m algebra (m = dims + 3) runs on the host in double. Converged when
// the wanted Ritz pairs' residuals |M v - theta v| are below kTolerance.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "core/rng.cuh"
#include "plan/memory_plan.hpp"
#include "umap/umap_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;
constexpr int kMaxBlock = 8;
constexpr int kDegree = 16;            // Chebyshev degree per outer step
constexpr double kTolerance = 1e-5;    // residual of the wanted Ritz pairs
constexpr double kAcceptable = 1e-3;   // still a sound initial layout when not converged

__global__ void inv_sqrt_degree_kernel(const int64_t* __restrict__ row_ptr,
                                       const float* __restrict__ val, int64_t n,
                                       double* __restrict__ dinv) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double s = 0;
  for (int64_t e = row_ptr[i]; e < row_ptr[i + 1]; ++e) s += val[e];
  dinv[i] = s > 0 ? 1.0 / sqrt(s) : 0.0;
}

// out = alpha M x + beta x + gamma p for row-major n x m blocks (p may be
// null when gamma is 0), M = D^-1/2 W D^-1/2.
__global__ void step_kernel(const int64_t* __restrict__ row_ptr, const int32_t* __restrict__ col,
                            const float* __restrict__ val, const double* __restrict__ dinv,
                            int64_t n, int m, double alpha, double beta, double gamma,
                            const double* __restrict__ x, const double* __restrict__ p,
                            double* __restrict__ out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double acc[kMaxBlock] = {};
  for (int64_t e = row_ptr[i]; e < row_ptr[i + 1]; ++e) {
    const int64_t j = col[e];
    const double w = val[e] * dinv[j];
    for (int c = 0; c < m; ++c) acc[c] += w * x[j * m + c];
  }
  for (int c = 0; c < m; ++c) {
    double v = alpha * dinv[i] * acc[c] + beta * x[i * m + c];
    if (gamma != 0.0) v += gamma * p[i * m + c];
    out[i * m + c] = v;
  }
}

// In-place Cholesky of a small SPD matrix (row-major), lower factor; false if not SPD.
bool cholesky(std::vector<double>& g, int m) {
  for (int j = 0; j < m; ++j) {
    double d = g[j * m + j];
    for (int k = 0; k < j; ++k) d -= g[j * m + k] * g[j * m + k];
    if (!(d > 1e-300)) return false;
    d = std::sqrt(d);
    g[j * m + j] = d;
    for (int i = j + 1; i < m; ++i) {
      double s = g[i * m + j];
      for (int k = 0; k < j; ++k) s -= g[i * m + k] * g[j * m + k];
      g[i * m + j] = s / d;
    }
    for (int k = j + 1; k < m; ++k) g[j * m + k] = 0;
  }
  return true;
}

// Cyclic Jacobi for a small symmetric matrix (row-major): eigenvalues in w,
// eigenvectors as the columns of q.
void jacobi_eigen(std::vector<double> a, int m, std::vector<double>& w, std::vector<double>& q) {
  q.assign(m * m, 0.0);
  for (int i = 0; i < m; ++i) q[i * m + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int i = 0; i < m; ++i)
      for (int j = i + 1; j < m; ++j) off += a[i * m + j] * a[i * m + j];
    if (off < 1e-30) break;
    for (int p = 0; p < m; ++p)
      for (int r = p + 1; r < m; ++r) {
        if (std::abs(a[p * m + r]) < 1e-300) continue;
        const double theta = (a[r * m + r] - a[p * m + p]) / (2 * a[p * m + r]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < m; ++k) {  // A <- J^T A J
          const double akp = a[k * m + p], akr = a[k * m + r];
          a[k * m + p] = c * akp - s * akr;
          a[k * m + r] = s * akp + c * akr;
        }
        for (int k = 0; k < m; ++k) {
          const double apk = a[p * m + k], ark = a[r * m + k];
          a[p * m + k] = c * apk - s * ark;
          a[r * m + k] = s * apk + c * ark;
        }
        for (int k = 0; k < m; ++k) {
          const double qkp = q[k * m + p], qkr = q[k * m + r];
          q[k * m + p] = c * qkp - s * qkr;
          q[k * m + r] = s * qkp + c * qkr;
        }
      }
  }
  w.resize(m);
  for (int i = 0; i < m; ++i) w[i] = a[i * m + i];
}

}  // namespace

bool spectral_init_device(Context& ctx, const FuzzyGraph& g, int dims, uint64_t seed,
                          int iterations, std::vector<float>& out) {
  const int64_t n = g.n;
  const int64_t nnz = g.row_ptr[n];
  // The plan's "spectral" stage; the block is oversampled (dims + 3 vectors)
  // so the wanted ones are well inside the filtered subspace.
  const plan::UmapMemoryPlan plan = plan::plan_umap(n, nnz, dims, false);
  const int m = plan.spectral_block;
  PRISM_CHECK(m <= kMaxBlock, "spectral block of ", m, " vectors");
  if (n <= m) return false;
  DeviceBuffer<int64_t> row_ptr(ctx, n + 1, "spectral graph");
  DeviceBuffer<int32_t> col(ctx, nnz, "spectral graph");
  DeviceBuffer<float> val(ctx, nnz, "spectral graph");
  row_ptr.upload(g.row_ptr.data(), n + 1);
  col.upload(g.col.data(), nnz);
  val.upload(g.val.data(), nnz);
  DeviceBuffer<double> dinv(ctx, n, "spectral degrees");
  inv_sqrt_degree_kernel<<<grid_for(n, kBlock), kBlock, 0, ctx.stream()>>>(row_ptr.data(), val.data(),
                                                                          n, dinv.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());

  const int64_t nm = checked_mul(n, m);
  DeviceBuffer<double> blocks[3];
  for (auto& b : blocks) b.reset(ctx, nm, "spectral block");
  DeviceBuffer<double> small(ctx, m * m, "spectral Gram");
  {
    std::vector<double> v0(static_cast<size_t>(nm));
    for (int64_t t = 0; t < nm; ++t)
      v0[t] = static_cast<double>(random_u64(seed, 0x5bec, static_cast<uint64_t>(t)) >> 11) * 0x1.0p-53 - 0.5;
    blocks[0].upload(v0.data(), nm);
    ctx.sync();
  }

  const double one = 1.0, zero = 0.0, minus_one = -1.0;
  const int mi = m, ni = checked_cast<int>(n);
  auto step = [&](double alpha, double beta, double gamma, const double* x, const double* p,
                  double* o) {
    step_kernel<<<grid_for(n, kBlock), kBlock, 0, ctx.stream()>>>(
        row_ptr.data(), col.data(), val.data(), dinv.data(), n, m, alpha, beta, gamma, x, p, o);
    PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  };
  // Row-major n x m is column-major m x n with ld m: A^T B = gemm(N, T).
  auto gram = [&](const double* a, const double* b, std::vector<double>& h) {
    PRISM_CUBLAS_TRY(cublasDgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, mi, mi, ni, &one, a, mi, b,
                                 mi, &zero, small.data(), mi));
    h.resize(m * m);
    small.download(h.data(), m * m);
    ctx.sync();
  };
  // Cholesky-QR, twice for stability (CholQR2): V <- V L^-T.
  std::vector<double> gm, lcol(m * m);
  auto orthonormalise = [&](double* v) -> bool {
    for (int pass = 0; pass < 2; ++pass) {
      gram(v, v, gm);
      if (!cholesky(gm, m)) return false;
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j) lcol[i + j * m] = gm[i * m + j];  // column-major L
      small.upload(lcol.data(), m * m);
      PRISM_CUBLAS_TRY(cublasDtrsm(ctx.cublas(), CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER,
                                   CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, mi, ni, &one, small.data(), mi,
                                   v, mi));
    }
    return true;
  };

  int v = 0;  // blocks[v] holds the current orthonormal basis
  if (!orthonormalise(blocks[v].data())) return false;
  double cut = 0.0;  // damp [-1, cut]; the block's smallest Ritz value once known
  double residual = INFINITY;
  std::vector<double> h, ge, rot(m * m);
  for (int outer = 0; outer < iterations && residual > kTolerance; ++outer) {
    // Filter: T_p((M - c) / e) V by the three-term recurrence, three blocks in turn.
    const double c = (cut - 1.0) / 2, e = (cut + 1.0) / 2;
    int y0 = v, y1 = (v + 1) % 3, y2 = (v + 2) % 3;
    step(1.0 / e, -c / e, 0.0, blocks[y0].data(), nullptr, blocks[y1].data());
    for (int j = 2; j <= kDegree; ++j) {
      step(2.0 / e, -2.0 * c / e, -1.0, blocks[y1].data(), blocks[y0].data(), blocks[y2].data());
      std::tie(y0, y1, y2) = std::make_tuple(y1, y2, y0);
    }
    v = y1;
    if (!orthonormalise(blocks[v].data())) return false;
    // Rayleigh-Ritz: H = V^T M V; E = M V - V H; rotate V by H's eigenvectors.
    const int mv = (v + 1) % 3, vr = (v + 2) % 3;
    step(1.0, 0.0, 0.0, blocks[v].data(), nullptr, blocks[mv].data());
    gram(blocks[v].data(), blocks[mv].data(), h);
    for (int i = 0; i < m; ++i)
      for (int j = i + 1; j < m; ++j) h[i * m + j] = h[j * m + i] = 0.5 * (h[i * m + j] + h[j * m + i]);
    small.upload(h.data(), m * m);  // symmetric: row- and column-major alike
    PRISM_CUBLAS_TRY(cublasDgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, mi, ni, mi, &minus_one,
                                 small.data(), mi, blocks[v].data(), mi, &one, blocks[mv].data(), mi));
    gram(blocks[mv].data(), blocks[mv].data(), ge);
    std::vector<double> ev, q;
    jacobi_eigen(h, m, ev, q);
    std::vector<int> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int x, int y) { return ev[x] > ev[y]; });
    for (int r = 0; r < m; ++r)
      for (int j = 0; j < m; ++j) rot[r + j * m] = q[r * m + order[j]];  // column j: Ritz vector j
    // Residual of Ritz vector j: |E R e_j|^2 = (R^T (E^T E) R)_jj.
    residual = 0;
    for (int j = 0; j <= dims; ++j) {
      double s2 = 0;
      for (int a = 0; a < m; ++a)
        for (int b = 0; b < m; ++b) s2 += rot[a + j * m] * ge[a * m + b] * rot[b + j * m];
      residual = std::max(residual, std::sqrt(std::max(s2, 0.0)));
    }
    cut = ev[order[m - 1]];
    small.upload(rot.data(), m * m);
    // V R (row-major n x m): column-major R^T V^T.
    PRISM_CUBLAS_TRY(cublasDgemm(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, mi, ni, mi, &one,
                                 small.data(), mi, blocks[v].data(), mi, &zero, blocks[vr].data(), mi));
    v = vr;
  }
  if (!(residual <= kAcceptable)) return false;
  std::vector<double> vh(static_cast<size_t>(nm));
  blocks[v].download(vh.data(), nm);
  ctx.sync();
  out.assign(static_cast<size_t>(n * dims), 0.f);
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < dims; ++c)  // column 0: the trivial eigenvector (eigenvalue 1)
      out[i * dims + c] = static_cast<float>(vh[i * m + c + 1]);
  return std::all_of(out.begin(), out.end(), [](float x) { return std::isfinite(x); });
}

}  // namespace prism::cuda::detail
