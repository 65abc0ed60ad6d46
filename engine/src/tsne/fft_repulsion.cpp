// Repulsive forces by FFT-accelerated interpolation (Linderman, Rachh, Hoskins,
// Steinerberger & Kluger 2019, "Fast interpolation-based t-SNE", FIt-SNE; as
// openTSNE's negative_gradient_method="fft"), 2D only.
//
// The square around the layout is cut into nb x nb boxes with p x p
// equispaced Lagrange nodes in each (node g of an axis sits at lo + (g + 1/2) h,
// h = box width / p). Three steps per call:
//   1. spread: each point adds its charges q (1, y_x, y_y) to the p x p nodes
//      of its box, weighted by the Lagrange polynomials at its position;
//   2. convolve: the node values meet the kernel at every node pair; the
//      kernel matrix of a uniform grid is Toeplitz, so its product is a
//      circular convolution on a grid twice as large (zero-padded), done with
//      real FFTs (FFTW);
//   3. gather: each point reads the potentials back by the same weights.
// The force term uses K2 = 1 / (1 + d^2)^2 with charges (1, y): rep_i =
// y_i phi_0 - phi_y. Z uses K1 = 1 / (1 + d^2) with charge 1 directly (the
// one-term form of openTSNE's dof != 1 path) rather than expanding
// (1 + |y_i - y_j|^2) K2, which cancels catastrophically far from the origin.
//
// Reproducible for any thread count: points are spread box by box in point
// order, every 1D transform is the same FFTW_ESTIMATE plan whichever thread
// runs it (FFTW_MEASURE picks plans by timing: results could change between
// runs), and Z is summed over per-point partials in point order.
#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "tsne/stages.hpp"

namespace prism::tsne {

namespace {

// FFTW's planner is not thread-safe; plans are made and destroyed under this lock.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

// The smallest count >= v whose prime factors are 2, 3, 5 and 7 (FFTW's fast sizes).
int smooth_at_least(int v) {
  for (int c = std::max(v, 1);; ++c) {
    int r = c;
    for (int f : {2, 3, 5, 7})
      while (r % f == 0) r /= f;
    if (r == 1) return c;
  }
}

// Columns transformed together by one column plan: 16 complex floats = 128
// bytes per row, so a block's column pass stays in L2 and is 32-byte aligned.
constexpr int kColumnBlock = 16;

template <class T>
struct FftwDelete {
  void operator()(T* p) const { fftwf_free(p); }
};
template <class T>
using FftwBuffer = std::unique_ptr<T[], FftwDelete<T>>;

template <class T>
FftwBuffer<T> fftw_alloc(size_t count) {
  auto* p = static_cast<T*>(fftwf_malloc(sizeof(T) * std::max<size_t>(count, 1)));
  PRISM_CHECK(p != nullptr, "FFTW could not allocate ", sizeof(T) * count, " bytes");
  return FftwBuffer<T>(p);
}

}  // namespace

// The grid of one size (nodes per axis m, transform length L = 2m) with its
// plans and buffers; rebuilt when the layout's extent changes the box count.
struct FftRepulsion::Impl {
  FftGrid grid;

  // Grid geometry of the last call.
  int nb = 0;          // boxes per axis
  int threads = 0;     // OpenMP threads the row scratch was made for
  bool parallel = false;  // transforms large enough to share between threads
  int m = 0;           // nodes per axis (nb * p)
  int L = 0;           // transform length per axis (2m: no wrap-around)
  int cs = 0;          // complex row stride (>= L / 2 + 1, a multiple of kColumnBlock)
  int rs = 0;          // real scratch row stride (a multiple of 16 floats: same alignment per thread)
  double lo[2] = {};   // lower corner of the grid
  double width = 0;    // box side
  double kernel_spacing = -1;  // node spacing the kernel spectra were made for

  fftwf_plan row_forward = nullptr, row_inverse = nullptr, col_forward = nullptr, col_inverse = nullptr;
  FftwBuffer<fftwf_complex> spectrum[2];  // L x cs each
  FftwBuffer<float> rows;                 // per thread: one real row of length L
  std::vector<float> k1_hat, k2_hat;      // real spectra of the kernels / L^2, L x cs
  std::vector<float> charge[3];           // m x m: node (gy, gx) at [gy * m + gx]
  std::vector<float> potential[4];        // K2 * charge 0..2, K1 * charge 0

  std::vector<int32_t> box_of, by_box;    // box of each point; points sorted by box (stable)
  std::vector<int64_t> box_start;         // nb * nb + 1
  std::vector<double> z_point;

  ~Impl() { destroy_plans(); }

  void destroy_plans() {
    std::lock_guard<std::mutex> lock(planner_mutex());
    for (fftwf_plan* p : {&row_forward, &row_inverse, &col_forward, &col_inverse})
      if (*p) fftwf_destroy_plan(*p), *p = nullptr;
  }

  float* row_scratch(int t) { return rows.get() + static_cast<size_t>(t) * rs; }

  void ensure_scratch() {
    const int t = std::max(1, omp_get_max_threads());
    if (t == threads) return;
    threads = t;
    rows = fftw_alloc<float>(static_cast<size_t>(threads) * rs);
  }

  void resize(int boxes) {
    const int p = grid.interpolation_points;
    nb = boxes;
    m = nb * p;
    L = 2 * m;
    cs = (L / 2 + 1 + kColumnBlock - 1) / kColumnBlock * kColumnBlock;
    rs = (L + 15) / 16 * 16;
    // Below this a transform takes well under a millisecond: one thread.
    parallel = L >= 512;
    destroy_plans();
    const size_t cells = static_cast<size_t>(L) * cs;
    for (auto& s : spectrum) {
      s = fftw_alloc<fftwf_complex>(cells);
      std::memset(s.get(), 0, sizeof(fftwf_complex) * cells);
    }
    threads = 0;
    ensure_scratch();
    std::lock_guard<std::mutex> lock(planner_mutex());
    // One row: real length L <-> L / 2 + 1 complex; executed on every row with
    // fftwf_execute_dft_r2c/c2r (rows start at multiples of cs * 8 bytes: same alignment).
    row_forward = fftwf_plan_dft_r2c_1d(L, rows.get(), spectrum[0].get(), FFTW_ESTIMATE);
    row_inverse = fftwf_plan_dft_c2r_1d(L, spectrum[0].get(), rows.get(), FFTW_ESTIMATE);
    // kColumnBlock adjacent columns of length L, stride cs, in place.
    const int n[1] = {L};
    col_forward = fftwf_plan_many_dft(1, n, kColumnBlock, spectrum[0].get(), nullptr, cs, 1,
                                      spectrum[0].get(), nullptr, cs, 1, FFTW_FORWARD, FFTW_ESTIMATE);
    col_inverse = fftwf_plan_many_dft(1, n, kColumnBlock, spectrum[0].get(), nullptr, cs, 1,
                                      spectrum[0].get(), nullptr, cs, 1, FFTW_BACKWARD, FFTW_ESTIMATE);
    PRISM_CHECK(row_forward && row_inverse && col_forward && col_inverse, "FFTW planning failed for L = ", L);
    for (auto& c : charge) c.assign(static_cast<size_t>(m) * m, 0.0f);
    for (auto& v : potential) v.assign(static_cast<size_t>(m) * m, 0.0f);
    box_start.assign(static_cast<size_t>(nb) * nb + 1, 0);
    kernel_spacing = -1;
  }

  // Column passes over all cs columns of `s` (both directions use all L rows).
  void columns(fftwf_complex* s, fftwf_plan plan) {
    const int blocks = cs / kColumnBlock;
#pragma omp parallel for schedule(static) if (parallel)
    for (int b = 0; b < blocks; ++b) fftwf_execute_dft(plan, s + b * kColumnBlock, s + b * kColumnBlock);
  }

  // 2D forward transform of an `nrows` x `ncols` real block (row r, column c at
  // src[r * ld + c], zero elsewhere in the L x L square) into `s`.
  void forward(const float* src, int nrows, int ncols, int64_t ld, fftwf_complex* s) {
    // Rows beyond the block are zero; earlier calls left other values there.
    std::memset(s + static_cast<size_t>(nrows) * cs, 0, sizeof(fftwf_complex) * (L - nrows) * cs);
#pragma omp parallel for schedule(static) if (parallel)
    for (int r = 0; r < nrows; ++r) {
      float* row = row_scratch(omp_get_thread_num());
      std::copy(src + r * ld, src + r * ld + ncols, row);
      std::fill(row + ncols, row + L, 0.0f);
      fftwf_execute_dft_r2c(row_forward, row, s + static_cast<size_t>(r) * cs);
    }
    columns(s, col_forward);
  }

  // 2D inverse transform of `s` (destroyed); the first m x m values into dst (m x m).
  void inverse(fftwf_complex* s, float* dst) {
    columns(s, col_inverse);
#pragma omp parallel for schedule(static) if (parallel)
    for (int r = 0; r < m; ++r) {
      float* row = row_scratch(omp_get_thread_num());
      fftwf_execute_dft_c2r(row_inverse, s + static_cast<size_t>(r) * cs, row);
      std::copy(row, row + m, dst + static_cast<size_t>(r) * m);
    }
  }

  // Real spectra (divided by L^2, FFTW's missing normalisation) of K1 and K2
  // sampled at node offsets, laid out as a circulant: entry (r, c) is the
  // kernel at offset (o(r), o(c)) h with o(i) = i for i < m, i - L for i > m
  // (the wrap-around of negative offsets), and 0 at i = m (no offset of two
  // nodes is m). The kernels are even, so the spectra are real.
  void make_kernels(double spacing) {
    if (spacing == kernel_spacing) return;
    std::vector<float> k(static_cast<size_t>(L) * L);
    const double inv_l2 = 1.0 / (double(L) * double(L));
    for (int kind = 0; kind < 2; ++kind) {
#pragma omp parallel for schedule(static) if (parallel)
      for (int r = 0; r < L; ++r) {
        const int orow = r < m ? r : r - L;
        for (int c = 0; c < L; ++c) {
          const int ocol = c < m ? c : c - L;
          const double d2 = (double(orow) * orow + double(ocol) * ocol) * spacing * spacing;
          const double w = 1.0 / (1.0 + d2);
          k[static_cast<size_t>(r) * L + c] = (r == m || c == m) ? 0.0f : float(kind == 0 ? w : w * w);
        }
      }
      forward(k.data(), L, L, L, spectrum[0].get());
      std::vector<float>& hat = kind == 0 ? k1_hat : k2_hat;
      hat.resize(static_cast<size_t>(L) * cs);
      const fftwf_complex* s = spectrum[0].get();
      for (size_t t = 0; t < hat.size(); ++t) hat[t] = static_cast<float>(s[t][0] * inv_l2);
    }
    kernel_spacing = spacing;
  }

  void multiply(fftwf_complex* s, const std::vector<float>& hat) {
    const int64_t total = int64_t(L) * cs;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t t = 0; t < total; ++t) {
      s[t][0] *= hat[t];
      s[t][1] *= hat[t];
    }
  }
};

namespace {

// Lagrange basis on one box (local coordinate u in [0, 1], nodes at
// (k + 1/2) / p): weights[k] = prod_{l != k} (u - t_l) / (t_k - t_l).
struct Lagrange {
  int p = 3;
  double nodes[FftGrid::kMaxInterpolationPoints] = {};
  double inv_denominator[FftGrid::kMaxInterpolationPoints] = {};
  explicit Lagrange(int points) : p(points) {
    for (int k = 0; k < p; ++k) nodes[k] = (k + 0.5) / p;
    for (int k = 0; k < p; ++k) {
      double d = 1;
      for (int l = 0; l < p; ++l)
        if (l != k) d *= nodes[k] - nodes[l];
      inv_denominator[k] = 1.0 / d;
    }
  }
  void weights(double u, double* w) const {
    for (int k = 0; k < p; ++k) {
      double v = inv_denominator[k];
      for (int l = 0; l < p; ++l)
        if (l != k) v *= u - nodes[l];
      w[k] = v;
    }
  }
};

}  // namespace

FftRepulsion::FftRepulsion(FftGrid grid) : impl_(std::make_unique<Impl>()) {
  PRISM_CHECK(grid.interpolation_points >= 1 && grid.interpolation_points <= FftGrid::kMaxInterpolationPoints,
              "interpolation points ", grid.interpolation_points);
  PRISM_CHECK(grid.min_intervals >= 1 && grid.max_intervals >= grid.min_intervals, "intervals ",
              grid.min_intervals, "..", grid.max_intervals);
  PRISM_CHECK(grid.ints_in_interval > 0, "box side ", grid.ints_in_interval);
  impl_->grid = grid;
}

FftRepulsion::~FftRepulsion() = default;
FftRepulsion::FftRepulsion(FftRepulsion&&) noexcept = default;
FftRepulsion& FftRepulsion::operator=(FftRepulsion&&) noexcept = default;

int FftRepulsion::boxes() const { return impl_->nb; }

RepulsionStats FftRepulsion::operator()(const double* y, int64_t n, double* rep) {
  Impl& g = *impl_;
  const int p = g.grid.interpolation_points;
  PRISM_CHECK(n >= 1 && n <= INT32_MAX, "FFT repulsion of ", n, " points");

  // The square around the layout: as openTSNE, boxes of side ints_in_interval
  // once the layout spans min_intervals of them (the side then stays fixed,
  // so the kernel spectra are reused until the box count changes), finer
  // boxes before; at most max_intervals boxes per axis.
  double lo[2], hi[2];
  for (int d = 0; d < 2; ++d) lo[d] = hi[d] = y[d];
  bool finite = true;
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < 2; ++d) {
      const double v = y[i * 2 + d];
      finite &= std::isfinite(v);
      lo[d] = std::min(lo[d], v);
      hi[d] = std::max(hi[d], v);
    }
  double extent = std::max(hi[0] - lo[0], hi[1] - lo[1]);
  PRISM_CHECK(finite && std::isfinite(extent), "embedding has non-finite coordinates");
  if (!(extent > 0)) extent = 1e-12;  // all points coincide
  const double width = std::max(std::min(g.grid.ints_in_interval, extent / g.grid.min_intervals),
                                extent / g.grid.max_intervals);
  // (1 - 1e-12): an extent of exactly 50 boxes must not round up to 51.
  const int boxes = smooth_at_least(static_cast<int>(std::ceil(extent / width * (1 - 1e-12))));
  if (boxes != g.nb) g.resize(boxes);
  g.ensure_scratch();
  g.width = width;
  // Centre the grid on the layout (the smooth box count may exceed the extent).
  for (int d = 0; d < 2; ++d) g.lo[d] = 0.5 * (lo[d] + hi[d]) - 0.5 * g.nb * width;
  const double spacing = width / p;
  g.make_kernels(spacing);

  const int nb = g.nb, m = g.m;
  const double inv_width = 1.0 / width;
  // Charges relative to the grid's centre keep the force's difference
  // y_i phi_0 - phi_y small where the layout is large.
  const double centre[2] = {g.lo[0] + 0.5 * nb * width, g.lo[1] + 0.5 * nb * width};
  auto box_coordinate = [&](double v, int d, double* u) {
    const double t = (v - g.lo[d]) * inv_width;
    const int b = std::clamp(static_cast<int>(std::floor(t)), 0, nb - 1);
    *u = t - b;
    return b;
  };

  // Points by box (counting sort, stable: point order within a box).
  g.box_of.resize(n);
  g.by_box.resize(n);
  std::fill(g.box_start.begin(), g.box_start.end(), 0);
#pragma omp parallel for schedule(static) if (n >= kParallelMinPoints)
  for (int64_t i = 0; i < n; ++i) {
    double u;
    const int bx = box_coordinate(y[i * 2], 0, &u);
    const int by = box_coordinate(y[i * 2 + 1], 1, &u);
    g.box_of[i] = by * nb + bx;
  }
  for (int64_t i = 0; i < n; ++i) ++g.box_start[g.box_of[i] + 1];
  for (size_t b = 1; b < g.box_start.size(); ++b) g.box_start[b] += g.box_start[b - 1];
  {
    std::vector<int64_t> fill(g.box_start.begin(), g.box_start.end() - 1);
    for (int64_t i = 0; i < n; ++i) g.by_box[fill[g.box_of[i]]++] = static_cast<int32_t>(i);
  }

  const Lagrange lagrange(p);
  const int n_charges = rep ? 3 : 1;
  // Step 1: spread. A row of boxes writes only its own p rows of nodes.
#pragma omp parallel for schedule(dynamic, 1) if (n >= kParallelMinPoints)
  for (int by = 0; by < nb; ++by) {
    double wx[FftGrid::kMaxInterpolationPoints], wy[FftGrid::kMaxInterpolationPoints];
    double acc[3][FftGrid::kMaxInterpolationPoints * FftGrid::kMaxInterpolationPoints];
    for (int bx = 0; bx < nb; ++bx) {
      const int64_t b = int64_t(by) * nb + bx;
      for (int q = 0; q < n_charges; ++q) std::fill(acc[q], acc[q] + p * p, 0.0);
      for (int64_t s = g.box_start[b]; s < g.box_start[b + 1]; ++s) {
        const int64_t i = g.by_box[s];
        double ux, uy;
        box_coordinate(y[i * 2], 0, &ux);
        box_coordinate(y[i * 2 + 1], 1, &uy);
        lagrange.weights(ux, wx);
        lagrange.weights(uy, wy);
        const double q[3] = {1.0, y[i * 2] - centre[0], y[i * 2 + 1] - centre[1]};
        for (int ky = 0; ky < p; ++ky)
          for (int kx = 0; kx < p; ++kx) {
            const double w = wy[ky] * wx[kx];
            for (int c = 0; c < n_charges; ++c) acc[c][ky * p + kx] += w * q[c];
          }
      }
      for (int c = 0; c < n_charges; ++c)
        for (int ky = 0; ky < p; ++ky)
          for (int kx = 0; kx < p; ++kx)
            g.charge[c][static_cast<size_t>(by * p + ky) * m + bx * p + kx] = static_cast<float>(acc[c][ky * p + kx]);
    }
  }

  // Step 2: convolve. Charge 0 meets both kernels; charges 1, 2 meet K2.
  fftwf_complex* s0 = g.spectrum[0].get();
  fftwf_complex* s1 = g.spectrum[1].get();
  const size_t cells = static_cast<size_t>(g.L) * g.cs;
  g.forward(g.charge[0].data(), m, m, m, s0);
  if (rep) {
    std::memcpy(s1, s0, sizeof(fftwf_complex) * cells);
    g.multiply(s1, g.k2_hat);
    g.inverse(s1, g.potential[0].data());
  }
  g.multiply(s0, g.k1_hat);
  g.inverse(s0, g.potential[3].data());
  if (rep)
    for (int c = 1; c < 3; ++c) {
      g.forward(g.charge[c].data(), m, m, m, s0);
      g.multiply(s0, g.k2_hat);
      g.inverse(s0, g.potential[c].data());
    }

  // Step 3: gather, per point.
  g.z_point.resize(n);
#pragma omp parallel for schedule(static) if (n >= kParallelMinPoints)
  for (int64_t i = 0; i < n; ++i) {
    double wx[FftGrid::kMaxInterpolationPoints], wy[FftGrid::kMaxInterpolationPoints];
    double ux, uy;
    const int bx = box_coordinate(y[i * 2], 0, &ux);
    const int by = box_coordinate(y[i * 2 + 1], 1, &uy);
    lagrange.weights(ux, wx);
    lagrange.weights(uy, wy);
    double phi[4] = {};
    for (int ky = 0; ky < p; ++ky) {
      const size_t row = static_cast<size_t>(by * p + ky) * m + bx * p;
      for (int kx = 0; kx < p; ++kx) {
        const double w = wy[ky] * wx[kx];
        phi[3] += w * g.potential[3][row + kx];
        if (rep)
          for (int c = 0; c < 3; ++c) phi[c] += w * g.potential[c][row + kx];
      }
    }
    // The sums include the point itself: K1(0) = 1 in Z, no force.
    g.z_point[i] = phi[3] - 1.0;
    if (rep) {
      rep[i * 2] = (y[i * 2] - centre[0]) * phi[0] - phi[1];
      rep[i * 2 + 1] = (y[i * 2 + 1] - centre[1]) * phi[0] - phi[2];
    }
  }
  RepulsionStats st;
  for (int64_t i = 0; i < n; ++i) st.z += g.z_point[i];
  return st;
}

}  // namespace prism::tsne
