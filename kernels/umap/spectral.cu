// Spectral initialisation on the GPU (see spectral_init_device in
// umap_internal.cuh). The graph has O(N k) entries, so each iteration is a
// sparse product that takes microseconds; the small m x m algebra (m = dims +
// 3) runs on the host in double.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/rng.cuh"
#include "umap/umap_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;
constexpr int kMaxBlock = 8;

__global__ void inv_sqrt_degree_kernel(const int64_t* __restrict__ row_ptr,
                                       const float* __restrict__ val, int64_t n,
                                       double* __restrict__ dinv) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double s = 0;
  for (int64_t e = row_ptr[i]; e < row_ptr[i + 1]; ++e) s += val[e];
  dinv[i] = s > 0 ? 1.0 / sqrt(s) : 0.0;
}

// out = (V + D^-1/2 W D^-1/2 V) / 2 for a row-major n x m block V.
__global__ void operator_kernel(const int64_t* __restrict__ row_ptr, const int32_t* __restrict__ col,
                                const float* __restrict__ val, const double* __restrict__ dinv,
                                int64_t n, int m, const double* __restrict__ v,
                                double* __restrict__ out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double acc[kMaxBlock] = {};
  for (int64_t e = row_ptr[i]; e < row_ptr[i + 1]; ++e) {
    const int64_t j = col[e];
    const double w = val[e] * dinv[j];
    for (int c = 0; c < m; ++c) acc[c] += w * v[j * m + c];
  }
  for (int c = 0; c < m; ++c) out[i * m + c] = 0.5 * (v[i * m + c] + dinv[i] * acc[c]);
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
  const int m = dims + 3;  // oversampled block: faster convergence of the wanted vectors
  PRISM_CHECK(m <= kMaxBlock, "spectral block of ", m, " vectors");
  if (n <= m) return false;
  const int64_t nnz = g.row_ptr[n];
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

  std::vector<double> v0(static_cast<size_t>(n * m));
  for (int64_t t = 0; t < n * m; ++t)
    v0[t] = static_cast<double>(random_u64(seed, 0x5bec, static_cast<uint64_t>(t)) >> 11) * 0x1.0p-53 - 0.5;
  DeviceBuffer<double> v(ctx, n * m, "spectral block"), w(ctx, n * m, "spectral block");
  DeviceBuffer<double> small(ctx, m * m, "spectral Gram");
  v.upload(v0.data(), n * m);

  const double one = 1.0, zero = 0.0;
  const int mi = m, ni = checked_cast<int>(n);
  std::vector<double> gram(m * m), lcol(m * m);
  // Row-major n x m is column-major m x n with ld m: V^T V = A A^T.
  auto orthonormalise = [&]() -> bool {
    PRISM_CUBLAS_TRY(cublasDgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, mi, mi, ni, &one, v.data(),
                                 mi, v.data(), mi, &zero, small.data(), mi));
    small.download(gram.data(), m * m);
    ctx.sync();
    if (!cholesky(gram, m)) return false;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) lcol[i + j * m] = gram[i * m + j];  // column-major L
    small.upload(lcol.data(), m * m);
    // V <- V L^-T, i.e. A <- L^-1 A.
    PRISM_CUBLAS_TRY(cublasDtrsm(ctx.cublas(), CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_LOWER,
                                 CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, mi, ni, &one, small.data(), mi,
                                 v.data(), mi));
    return true;
  };
  if (!orthonormalise()) return false;
  for (int it = 0; it < iterations; ++it) {
    operator_kernel<<<grid_for(n, kBlock), kBlock, 0, ctx.stream()>>>(
        row_ptr.data(), col.data(), val.data(), dinv.data(), n, m, v.data(), w.data());
    PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
    std::swap(v, w);
    if (!orthonormalise()) return false;
  }
  // Rayleigh-Ritz: H = V^T M V, rotate V by H's eigenvectors.
  operator_kernel<<<grid_for(n, kBlock), kBlock, 0, ctx.stream()>>>(
      row_ptr.data(), col.data(), val.data(), dinv.data(), n, m, v.data(), w.data());
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  PRISM_CUBLAS_TRY(cublasDgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, mi, mi, ni, &one, v.data(),
                               mi, w.data(), mi, &zero, small.data(), mi));
  std::vector<double> h(m * m), vh(static_cast<size_t>(n * m));
  small.download(h.data(), m * m);
  v.download(vh.data(), n * m);
  ctx.sync();
  for (int i = 0; i < m; ++i)
    for (int j = i + 1; j < m; ++j) h[i * m + j] = h[j * m + i] = 0.5 * (h[i * m + j] + h[j * m + i]);
  std::vector<double> ev, q;
  jacobi_eigen(h, m, ev, q);
  std::vector<int> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int x, int y) { return ev[x] > ev[y]; });
  out.assign(static_cast<size_t>(n * dims), 0.f);
  for (int c = 0; c < dims; ++c) {
    const int e = order[c + 1];  // skip the trivial eigenvector (eigenvalue 1)
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int r = 0; r < m; ++r) s += vh[i * m + r] * q[r * m + e];
      out[i * dims + c] = static_cast<float>(s);
    }
  }
  return std::all_of(out.begin(), out.end(), [](float x) { return std::isfinite(x); });
}

}  // namespace prism::cuda::detail
