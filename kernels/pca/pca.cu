// PCA on the GPU: centred covariance accumulated in double with cuBLAS DSYRK
// over host-memory chunks (so N is not limited by device memory), then the
// full symmetric eigendecomposition with cuSOLVER syevd. Same semantics as
// fit_pca_cpu: mean, unit axes sorted by variance, variance with N - 1,
// ratios of the total variance. The GPU always uses the full solver (the
// randomized one exists to spare CPU time; DSYRK + syevd on D <= a few
// thousand take milliseconds here).
#include <algorithm>
#include <cmath>
#include <vector>

#include "pca/pca_internal.cuh"
#include "plan/memory_plan.hpp"
#include "prism/cuda/api.hpp"

namespace prism::cuda {
namespace detail {
namespace {

constexpr int kBlock = 256;

// Column sums of a rows x d chunk in two fixed-order steps (no atomics, so
// the mean is the same every run): partial[s][j] sums the rows of segment s
// (coalesced across j), then sums[j] += the partials in segment order.
// Segments hold seg_rows rows: at least 1024, more when a chunk would need
// over 65535 of them (gridDim.y's limit).
__global__ void column_partials_kernel(const float* __restrict__ x, int64_t rows, int64_t d,
                                       int64_t seg_rows, double* __restrict__ partial) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= d) return;
  const int64_t lo = blockIdx.y * seg_rows, hi = min(rows, lo + seg_rows);
  double s = 0;
  for (int64_t i = lo; i < hi; ++i) s += x[i * d + j];
  partial[blockIdx.y * d + j] = s;
}

__global__ void add_partials_kernel(const double* __restrict__ partial, int64_t segments, int64_t d,
                                    double* __restrict__ sums) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= d) return;
  double s = 0;
  for (int64_t g = 0; g < segments; ++g) s += partial[g * d + j];
  sums[j] += s;
}

__global__ void center_to_double_kernel(const float* __restrict__ x, int64_t count, int64_t d,
                                        const double* __restrict__ mean, double* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) out[t] = static_cast<double>(x[t]) - mean[t % d];
}

__global__ void scale_kernel(double* v, int64_t count, double s) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) v[t] *= s;
}

}  // namespace

PcaModel fit_pca_device(Context& ctx, ConstView x, const PcaParams& params,
                        const PcaOptions& options, Progress* progress) {
  const int64_t n = x.rows, d = x.cols;
  PRISM_EXPECTS(n >= 2, "PCA needs at least 2 rows, got ", n);
  PRISM_EXPECTS(params.dims >= 1 && params.dims <= d, "PCA dims must be in 1..", d, ", got ",
                params.dims);
  PRISM_EXPECTS(options.chunk_rows >= 0, "PCA chunk rows must be >= 0");
  ProgressScope scope(progress, "pca", 3);
  const plan::PcaPlan plan = plan::plan_pca(n, d, options.chunk_rows);
  const int64_t chunk = plan.chunk_rows;

  DeviceBuffer<double> mean(ctx, d, "PCA mean");
  DeviceBuffer<double> cov(ctx, checked_mul(d, d), "PCA covariance");
  DeviceBuffer<float> xf(ctx, checked_mul(chunk, d), "PCA row chunk");
  DeviceBuffer<double> xc(ctx, checked_mul(chunk, d), "PCA centred chunk");
  DeviceBuffer<double> partial(ctx, checked_mul(plan.segments, d), "PCA column sums");
  mean.fill_zero();

  // Pass 1: the mean.
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t rows = std::min(chunk, n - r0);
    upload_rows(ctx, x, r0, rows, xf.data());
    const int64_t segments = (rows + plan.segment_rows - 1) / plan.segment_rows;
    PRISM_CHECK(segments <= kMaxGridYZ, "PCA: ", segments, " column-sum segments");
    column_partials_kernel<<<dim3(grid_for(d, kBlock), static_cast<unsigned>(segments)), kBlock, 0,
                             ctx.stream()>>>(xf.data(), rows, d, plan.segment_rows, partial.data());
    PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
    add_partials_kernel<<<grid_for(d, kBlock), kBlock, 0, ctx.stream()>>>(partial.data(), segments,
                                                                         d, mean.data());
    PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  }
  scale_kernel<<<grid_for(d, kBlock), kBlock, 0, ctx.stream()>>>(mean.data(), d,
                                                                 1.0 / static_cast<double>(n));
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  scope.update(1);

  // Pass 2: scatter matrix (X - mean)^T (X - mean), lower triangle. Row-major
  // chunk (rows x d) is column-major d x rows, so SYRK with OP_N gives A A^T.
  const double one = 1.0;
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t rows = std::min(chunk, n - r0);
    upload_rows(ctx, x, r0, rows, xf.data());
    const int64_t count = checked_mul(rows, d);
    center_to_double_kernel<<<grid_for(count, kBlock), kBlock, 0, ctx.stream()>>>(
        xf.data(), count, d, mean.data(), xc.data());
    PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
    const double beta = r0 == 0 ? 0.0 : 1.0;
    PRISM_CUBLAS_TRY(cublasDsyrk(ctx.cublas(), CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N,
                                 checked_cast<int>(d), checked_cast<int>(rows), &one, xc.data(),
                                 checked_cast<int>(d), &beta, cov.data(), checked_cast<int>(d)));
  }
  xf.release();
  xc.release();
  partial.release();
  scope.update(2);

  // Eigendecomposition: ascending eigenvalues, eigenvectors as columns.
  DeviceBuffer<double> w(ctx, d, "PCA eigenvalues");
  DeviceBuffer<int> info(ctx, 1, "cuSOLVER info");
  int lwork = 0;
  const int di = checked_cast<int>(d);
  PRISM_CUSOLVER_TRY(cusolverDnDsyevd_bufferSize(ctx.cusolver(), CUSOLVER_EIG_MODE_VECTOR,
                                                 CUBLAS_FILL_MODE_LOWER, di, cov.data(), di,
                                                 w.data(), &lwork));
  // What cuSOLVER asks for (the plan's syevd_work is an allowance the gpu
  // test GpuMemoryPlan.PcaWorkspace holds this figure to).
  DeviceBuffer<double> work(ctx, std::max(lwork, 1), "cuSOLVER syevd workspace");
  PRISM_CUSOLVER_TRY(cusolverDnDsyevd(ctx.cusolver(), CUSOLVER_EIG_MODE_VECTOR,
                                      CUBLAS_FILL_MODE_LOWER, di, cov.data(), di, w.data(),
                                      work.data(), lwork, info.data()));
  std::vector<double> h_mean(d), h_w(d), h_vec(static_cast<size_t>(checked_mul(d, d)));
  int h_info = 0;
  mean.download(h_mean.data(), d);
  w.download(h_w.data(), d);
  cov.download(h_vec.data(), checked_mul(d, d));
  info.download(&h_info, 1);
  ctx.sync();
  PRISM_CHECK(h_info == 0, "cuSOLVER syevd did not converge (info ", h_info, ")");

  PcaModel m;
  m.whiten = params.whiten;
  m.mean.assign(h_mean.begin(), h_mean.end());
  m.components = Matrix(params.dims, d);
  double total = 0;
  for (double v : h_w) total += std::max(v, 0.0);
  for (int c = 0; c < params.dims; ++c) {
    const int64_t col = d - 1 - c;  // largest first
    const double* v = h_vec.data() + col * d;
    // Deterministic sign (scikit-learn's svd_flip on V): largest |entry| positive.
    int64_t arg = 0;
    for (int64_t j = 1; j < d; ++j)
      if (std::abs(v[j]) > std::abs(v[arg])) arg = j;
    const double sign = v[arg] < 0 ? -1.0 : 1.0;
    for (int64_t j = 0; j < d; ++j) m.components(c, j) = static_cast<float>(sign * v[j]);
    const double lambda = std::max(h_w[col], 0.0);
    m.explained_variance.push_back(lambda / static_cast<double>(n - 1));
    m.explained_variance_ratio.push_back(total > 0 ? lambda / total : 0.0);
  }
  scope.update(3);
  return m;
}

}  // namespace detail

PcaModel fit_pca(ConstView x, const PcaParams& params, Progress* progress) {
  auto ctx = Context::shared();
  return detail::fit_pca_device(*ctx, x, params, {}, progress);
}

}  // namespace prism::cuda
