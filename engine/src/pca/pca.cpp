// CPU PCA. Full: the covariance matrix accumulated block by block (SSYRK on
// centred float blocks, summed in double so millions of rows lose nothing),
// then LAPACK's DSYEVR for the top `dims` eigenpairs only. Randomized (Halko,
// Martinsson & Tropp 2011, with power iterations): for wide data, where the
// D x D covariance would be too costly.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "prism/pca.hpp"

extern "C" {
void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a,
             const int* lda, const double* vl, const double* vu, const int* il, const int* iu,
             const double* abstol, int* m, double* w, double* z, const int* ldz, int* isuppz,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau,
             double* work, const int* lwork, int* info);
}

namespace prism {
namespace {

constexpr int64_t kBlockRows = 4096;

std::vector<double> column_means(ConstView x) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<double> mean(d, 0.0);
#pragma omp parallel
  {
    std::vector<double> local(d, 0.0);
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n; ++i) {
      const float* r = x.row(i);
      for (int64_t j = 0; j < d; ++j) local[j] += r[j];
    }
#pragma omp critical
    for (int64_t j = 0; j < d; ++j) mean[j] += local[j];
  }
  for (auto& m : mean) m /= static_cast<double>(n);
  return mean;
}

/// Copies rows [r0, r0 + rows) of x, centred, into `out` (rows x d).
void centred_block(ConstView x, const std::vector<float>& mean, int64_t r0, int64_t rows, float* out) {
  const int64_t d = x.cols;
  for (int64_t i = 0; i < rows; ++i) {
    const float* r = x.row(r0 + i);
    float* o = out + i * d;
    for (int64_t j = 0; j < d; ++j) o[j] = r[j] - mean[j];
  }
}

/// Symmetric eigenpairs il..iu (1-based, ascending) of a (d x d, row-major == col-major).
void top_eigen(std::vector<double>& a, int d, int k, std::vector<double>& values, std::vector<double>& vectors) {
  const int il = d - k + 1, iu = d;
  const double abstol = 0.0, vl = 0, vu = 0;
  int m = 0, info = 0;
  values.assign(d, 0.0);
  vectors.assign(static_cast<size_t>(d) * k, 0.0);
  std::vector<int> isuppz(2 * static_cast<size_t>(k));
  int lwork = -1, liwork = -1, iwork_q = 0;
  double work_q = 0;
  dsyevr_("V", "I", "U", &d, a.data(), &d, &vl, &vu, &il, &iu, &abstol, &m, values.data(),
          vectors.data(), &d, isuppz.data(), &work_q, &lwork, &iwork_q, &liwork, &info);
  lwork = static_cast<int>(work_q);
  liwork = iwork_q;
  std::vector<double> work(lwork);
  std::vector<int> iwork(liwork);
  dsyevr_("V", "I", "U", &d, a.data(), &d, &vl, &vu, &il, &iu, &abstol, &m, values.data(),
          vectors.data(), &d, isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
  PRISM_CHECK(info == 0 && m == k, "LAPACK dsyevr failed (info ", info, ", found ", m, " of ", k, ")");
  values.resize(k);
}

/// Orthonormalises the columns of a (rows x cols, column-major) in place.
void orthonormalise(std::vector<double>& a, int rows, int cols) {
  std::vector<double> tau(cols);
  int info = 0, lwork = -1;
  double q = 0;
  dgeqrf_(&rows, &cols, a.data(), &rows, tau.data(), &q, &lwork, &info);
  lwork = std::max(1, static_cast<int>(q));
  std::vector<double> work(lwork);
  dgeqrf_(&rows, &cols, a.data(), &rows, tau.data(), work.data(), &lwork, &info);
  PRISM_CHECK(info == 0, "LAPACK dgeqrf failed (info ", info, ")");
  lwork = -1;
  dorgqr_(&rows, &cols, &cols, a.data(), &rows, tau.data(), &q, &lwork, &info);
  lwork = std::max(1, static_cast<int>(q));
  work.resize(lwork);
  dorgqr_(&rows, &cols, &cols, a.data(), &rows, tau.data(), work.data(), &lwork, &info);
  PRISM_CHECK(info == 0, "LAPACK dorgqr failed (info ", info, ")");
}

/// Total variance (trace of the covariance) without forming it.
double total_variance(ConstView x, const std::vector<double>& mean) {
  double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int64_t i = 0; i < x.rows; ++i) {
    const float* r = x.row(i);
    double s = 0;
    for (int64_t j = 0; j < x.cols; ++j) {
      const double t = r[j] - mean[j];
      s += t * t;
    }
    total += s;
  }
  return total / static_cast<double>(std::max<int64_t>(1, x.rows - 1));
}

/// Full covariance (double, d x d, upper and lower filled).
std::vector<double> covariance(ConstView x, const std::vector<float>& meanf, Progress* progress) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<double> cov(static_cast<size_t>(d * d), 0.0);
  std::vector<float> block(static_cast<size_t>(std::min(n, kBlockRows) * d));
  std::vector<float> c(static_cast<size_t>(d * d));
  ProgressScope scope(progress, "pca", (n + kBlockRows - 1) / kBlockRows);
  int64_t done = 0;
  for (int64_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, n - r0);
    centred_block(x, meanf, r0, rows, block.data());
    // c = block^T block (upper triangle, row-major)
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(d), static_cast<int>(rows), 1.0f,
                block.data(), static_cast<int>(d), 0.0f, c.data(), static_cast<int>(d));
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = i; j < d; ++j) cov[i * d + j] += c[i * d + j];
    scope.update(++done);
    scope.check();
  }
  const double scale = 1.0 / static_cast<double>(std::max<int64_t>(1, n - 1));
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i; j < d; ++j) cov[j * d + i] = cov[i * d + j] *= scale;
  return cov;
}

/// Y (n x l, col-major, double) = Xc * B, with B (d x l, col-major, double).
void times_centred(ConstView x, const std::vector<float>& meanf, const std::vector<double>& b, int64_t l,
                   std::vector<double>& y) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<float> bf(b.begin(), b.end());  // d x l col-major == l x d row-major
  std::vector<float> block(static_cast<size_t>(std::min(n, kBlockRows) * d));
  std::vector<float> out(static_cast<size_t>(std::min(n, kBlockRows) * l));
  y.assign(static_cast<size_t>(n * l), 0.0);
  for (int64_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, n - r0);
    centred_block(x, meanf, r0, rows, block.data());
    // out (rows x l, row-major) = block (rows x d) * bf^T  (bf is l x d row-major)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(l),
                static_cast<int>(d), 1.0f, block.data(), static_cast<int>(d), bf.data(), static_cast<int>(d),
                0.0f, out.data(), static_cast<int>(l));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < l; ++c) y[c * n + r0 + i] = out[i * l + c];
  }
}

/// Z (d x l, col-major) = Xc^T * Y, with Y (n x l, col-major).
void transpose_times_centred(ConstView x, const std::vector<float>& meanf, const std::vector<double>& y,
                             int64_t l, std::vector<double>& z) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<float> block(static_cast<size_t>(std::min(n, kBlockRows) * d));
  std::vector<float> yb(static_cast<size_t>(std::min(n, kBlockRows) * l));
  std::vector<float> out(static_cast<size_t>(l * d));
  z.assign(static_cast<size_t>(d * l), 0.0);
  for (int64_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, n - r0);
    centred_block(x, meanf, r0, rows, block.data());
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < l; ++c) yb[i * l + c] = static_cast<float>(y[c * n + r0 + i]);
    // out (l x d, row-major) = yb^T (l x rows) * block (rows x d)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(l), static_cast<int>(d),
                static_cast<int>(rows), 1.0f, yb.data(), static_cast<int>(l), block.data(),
                static_cast<int>(d), 0.0f, out.data(), static_cast<int>(d));
    for (int64_t c = 0; c < l; ++c)
      for (int64_t j = 0; j < d; ++j) z[c * d + j] += out[c * d + j];
  }
}

}  // namespace

PcaModel fit_pca_cpu(ConstView x, const PcaParams& p, Progress* progress) {
  const int64_t n = x.rows, d = x.cols;
  PRISM_EXPECTS(n >= 2, "PCA needs at least 2 rows, got ", n);
  PRISM_EXPECTS(p.dims >= 1 && p.dims <= d, "PCA dims must be between 1 and D = ", d, ", got ", p.dims);
  const int k = p.dims;
  const std::vector<double> mean = column_means(x);
  const std::vector<float> meanf(mean.begin(), mean.end());

  PcaSolver solver = p.solver;
  if (solver == PcaSolver::automatic)
    // The covariance costs n*d^2 and d^2 memory; the randomized range finder
    // about 2*(q+1)*n*d*(k+p). Wide data with few components goes randomized.
    solver = (d > 2000 && k + p.oversample < d / 4) ? PcaSolver::randomized : PcaSolver::full;

  std::vector<double> values, vectors;  // vectors: d x k, column-major, ascending
  if (solver == PcaSolver::full) {
    std::vector<double> cov = covariance(x, meanf, progress);
    top_eigen(cov, static_cast<int>(d), k, values, vectors);
  } else {
    const int64_t l = std::min<int64_t>(d, k + std::max(0, p.oversample));
    std::mt19937_64 rng(p.seed);
    std::normal_distribution<double> normal;
    std::vector<double> omega(static_cast<size_t>(d * l));
    for (auto& v : omega) v = normal(rng);
    std::vector<double> y, z;
    ProgressScope scope(progress, "pca", p.power_iterations + 1);
    times_centred(x, meanf, omega, l, y);
    orthonormalise(y, static_cast<int>(n), static_cast<int>(l));
    for (int it = 0; it < p.power_iterations; ++it) {
      transpose_times_centred(x, meanf, y, l, z);
      orthonormalise(z, static_cast<int>(d), static_cast<int>(l));
      times_centred(x, meanf, z, l, y);
      orthonormalise(y, static_cast<int>(n), static_cast<int>(l));
      scope.update(it + 1);
      scope.check();
    }
    // B^T = Xc^T Q (d x l); B B^T = Q^T Xc Xc^T Q (l x l) has the eigenvectors U,
    // and the principal axes are B^T U / sigma.
    transpose_times_centred(x, meanf, y, l, z);
    std::vector<double> small(static_cast<size_t>(l * l), 0.0);
    for (int64_t a = 0; a < l; ++a)
      for (int64_t b = 0; b < l; ++b) {
        double s = 0;
        for (int64_t j = 0; j < d; ++j) s += z[a * d + j] * z[b * d + j];
        small[b * l + a] = s;
      }
    std::vector<double> sv, su;
    top_eigen(small, static_cast<int>(l), k, sv, su);
    values.assign(k, 0.0);
    vectors.assign(static_cast<size_t>(d * k), 0.0);
    for (int c = 0; c < k; ++c) {
      const double sigma = std::sqrt(std::max(sv[c], 1e-300));
      for (int64_t j = 0; j < d; ++j) {
        double s = 0;
        for (int64_t a = 0; a < l; ++a) s += z[a * d + j] * su[c * l + a];
        vectors[c * d + j] = s / sigma;
      }
      values[c] = sv[c] / static_cast<double>(n - 1);
    }
    scope.update(p.power_iterations + 1);
  }

  PcaModel model;
  model.mean = meanf;
  model.whiten = p.whiten;
  model.components = Matrix(k, d);
  const double total = total_variance(x, mean);
  for (int c = 0; c < k; ++c) {
    const int src = k - 1 - c;  // LAPACK returns ascending order
    const double* v = vectors.data() + static_cast<size_t>(src) * d;
    // Sign convention: the largest-magnitude loading is positive (deterministic).
    int64_t arg = 0;
    for (int64_t j = 1; j < d; ++j)
      if (std::abs(v[j]) > std::abs(v[arg])) arg = j;
    const double sign = v[arg] < 0 ? -1.0 : 1.0;
    for (int64_t j = 0; j < d; ++j) model.components(c, j) = static_cast<float>(sign * v[j]);
    model.explained_variance.push_back(std::max(0.0, values[src]));
    model.explained_variance_ratio.push_back(total > 0 ? std::max(0.0, values[src]) / total : 0.0);
  }
  return model;
}

Matrix PcaModel::transform(ConstView x) const {
  const int64_t d = static_cast<int64_t>(mean.size()), k = components.rows();
  PRISM_EXPECTS(x.cols == d, "PCA transform: data has ", x.cols, " columns, the model ", d);
  Matrix y(x.rows, k);
  std::vector<float> block(static_cast<size_t>(std::min(x.rows, kBlockRows) * d));
  for (int64_t r0 = 0; r0 < x.rows; r0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, x.rows - r0);
    centred_block(x, mean, r0, rows, block.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(k),
                static_cast<int>(d), 1.0f, block.data(), static_cast<int>(d), components.data(),
                static_cast<int>(d), 0.0f, y.row(r0), static_cast<int>(k));
  }
  if (whiten)
    for (int64_t c = 0; c < k; ++c) {
      const float s = explained_variance[c] > 0 ? static_cast<float>(1.0 / std::sqrt(explained_variance[c])) : 0.f;
      for (int64_t i = 0; i < x.rows; ++i) y(i, c) *= s;
    }
  return y;
}

}  // namespace prism
