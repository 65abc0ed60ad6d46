// Layout optimisation (umap-learn's simplicial_set_embedding and
// optimize_layout_euclidean): SGD over the graph's edges on the
// epochs-per-sample schedule, negative sampling, linearly decaying learning
// rate, gradients clipped at 4. One Reducer step() is one epoch.
//
// Parallel and reproducible: on one thread the updates are umap-learn's, in
// place and in edge order. With several threads each owns a static range of
// head points and moves a private copy of the layout in place (its own points,
// and the tails it pulls); the copies are merged a few times per epoch in a
// fixed order (SgdState::epoch). Random numbers come from one stream per (seed,
// epoch, head point). No thread reads what another writes, so a fixed seed and
// thread count give the same embedding bit for bit.
#include <omp.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>

#include "simd.hpp"
#include "umap/fast_pow.hpp"
#include "umap_internal.hpp"

namespace prism::umap {

SgdState::SgdState(std::vector<int64_t> rp, std::vector<int32_t> cols, UmapSchedule schedule,
                   int64_t n_tail_points, int dims_)
    : n_head(static_cast<int64_t>(rp.size()) - 1),
      n_tail(n_tail_points),
      dims(dims_),
      row_ptr(std::move(rp)),
      col(std::move(cols)),
      negative_rate(schedule.negative_sample_rate) {
  // The vectorised negative sampling gathers with 32-bit offsets.
  PRISM_EXPECTS(checked_mul(n_tail_points, dims_) < (int64_t{1} << 31),
                "UMAP supports up to 2^31 embedding coordinates");
  PRISM_CHECK(schedule.epochs_per_sample.size() == col.size(),
              "schedule for ", schedule.epochs_per_sample.size(), " edges, graph of ", col.size());
  rate.resize(col.size());
  for (size_t e = 0; e < col.size(); ++e) {
    const double period = schedule.epochs_per_sample[e];  // >= 1, or <= 0: never
    rate[e] = period > 0 ? static_cast<uint32_t>(std::llround(double(kRateOne) / std::max(period, 1.0))) : 0;
  }
}

namespace {

constexpr int64_t kParallelEdges = 100000;
// Merges per epoch when several threads share the layout: more keep the
// threads' copies fresher (closer to umap-learn's in-place updates) and cost
// one copy of the layout per thread each.
constexpr int kSubSteps = 4;

inline float clip4(float v) { return v > 4.0f ? 4.0f : (v < -4.0f ? -4.0f : v); }

/// Squared distance; D > 0 fixes the dimension at compile time (2D, 3D), D == 0
/// takes `dims`.
template <int D>
inline float rdist(const float* x, const float* y, int dims) {
  const int d = D > 0 ? D : dims;
  float s = 0;
  for (int j = 0; j < d; ++j) {
    const float t = x[j] - y[j];
    s += t * t;
  }
  return s;
}

// Negative samples are evaluated in batches against the same position of the
// head point and their (individually clipped) pushes summed. umap-learn
// applies them one after another; with ~5 per edge sample the difference is
// second order in the learning rate (Fashion-MNIST 20k, 3D: recall@15 0.277
// batched vs 0.275 one by one), and independent samples let the CPU overlap
// their latencies instead of chaining them.
constexpr int kNegBatch = 8;

#if defined(__AVX2__) && defined(__FMA__)
/// Up to 8 negative samples rs[0..m) against the same position of `cur`, their
/// clipped pushes summed and applied (see kNegBatch). `self` is a tail id
/// that must not repel (the head itself when fitting; ~0u otherwise).
template <int D>
inline void negative_batch_avx2(float* cur, const float* others, const uint32_t* rs, int m,
                                uint32_t self, float a, float b, float gamma, float alpha) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rs));
  // Lanes past m hold the next edge's ids or padding; they are masked out below
  // but must still be valid rows to gather from, so clamp them to row 0.
  const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(m), lane);
  const __m256i safe = _mm256_and_si256(idx, live);
  // safe * D by shifts and adds (vpmulld is slow on some cores).
  __m256i off = safe;
  if constexpr (D == 2) off = _mm256_slli_epi32(safe, 1);
  else if constexpr (D == 3) off = _mm256_add_epi32(_mm256_slli_epi32(safe, 1), safe);
  else if constexpr (D == 4) off = _mm256_slli_epi32(safe, 2);
  else off = _mm256_mullo_epi32(safe, _mm256_set1_epi32(D));
  __m256 diff[D];
  __m256 d2 = _mm256_setzero_ps();
  for (int j = 0; j < D; ++j) {
    const __m256 o = _mm256_i32gather_ps(others + j, off, 4);
    diff[j] = _mm256_sub_ps(_mm256_set1_ps(cur[j]), o);
    d2 = _mm256_fmadd_ps(diff[j], diff[j], d2);
  }
  const __m256 pw = fast_pow8(d2, b);
  const __m256 rc = _mm256_div_ps(
      _mm256_set1_ps(2.0f * gamma * b),
      _mm256_mul_ps(_mm256_add_ps(_mm256_set1_ps(0.001f), d2),
                    _mm256_fmadd_ps(_mm256_set1_ps(a), pw, _mm256_set1_ps(1.0f))));
  const __m256 valid = _mm256_castsi256_ps(
      _mm256_andnot_si256(_mm256_cmpeq_epi32(idx, _mm256_set1_epi32(static_cast<int>(self))), live));
  const __m256 pos = _mm256_cmp_ps(d2, _mm256_setzero_ps(), _CMP_GT_OQ);
  const __m256 coef = _mm256_and_ps(rc, _mm256_and_ps(valid, pos));
  // Coincident points push by the clip value (umap-learn's grad_d = 4).
  const __m256 push = _mm256_and_ps(_mm256_set1_ps(4.0f), _mm256_andnot_ps(pos, valid));
  const __m256 lo = _mm256_set1_ps(-4.0f), hi = _mm256_set1_ps(4.0f);
  for (int j = 0; j < D; ++j) {
    const __m256 g = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(coef, diff[j]), lo), hi);
    cur[j] += simd::hsum8(_mm256_add_ps(g, push)) * alpha;
  }
}
#endif

/// The samples one head point owes in this epoch: which edges fire and the
/// negative samples each draws. Drawing touches only the schedule and the
/// random stream, not positions, so the next point's samples are drawn (and the
/// rows it will read prefetched) before the current point is moved, hiding the
/// latency of those random reads.
struct RowSamples {
  std::vector<int32_t> tails;  // the tail of each edge that fires, in edge order
  std::vector<uint32_t> negs;  // all negative samples, edge after edge
  size_t fired = 0;            // tails[0, fired) are this epoch's (the vectors only grow)
};

/// umap-learn keeps two clocks per edge, epoch_of_next_sample (starts at the
/// period p, fires while <= the epoch, advances by p) and the negative clock
/// (period p / rate). In closed form, with r = 1 / p, an edge fires in epoch
/// t >= 1 when floor(t r) > floor((t - 1) r), that is when frac(t r) < r: the
/// same epochs up to rounding, and draws `rate` negative samples each time
/// (umap-learn draws the ticks of its negative clock since the last firing:
/// rate on average, one fewer the first time). r is held in 30-bit fixed
/// point, so frac(t r) is one integer multiply and mask, eight edges at a time
/// (the float floors were a third of an epoch on Fashion-MNIST). Nothing is
/// written back, which made the old clocks 30% of an epoch at 1M points
/// (memory traffic: 28 bytes per edge, now 4 on the skip path).
template <int D>
void draw_samples(const SgdState& L, int64_t i, int epoch, const float* others, const float* negsrc,
                  RowSamples& out) {
  const int dims = D > 0 ? D : L.dims;
  const uint32_t n_tail = static_cast<uint32_t>(L.n_tail);
  const int n_neg = L.negative_rate;
  const int64_t b = L.row_ptr[i], end = L.row_ptr[i + 1];
  const size_t most = static_cast<size_t>(end - b);
  if (out.tails.size() < most) out.tails.resize(most);
  if (out.negs.size() < most * n_neg + kNegBatch) out.negs.resize(most * n_neg + kNegBatch);
  int32_t* tails = out.tails.data();
  uint32_t* negs = out.negs.data();
  size_t fired = 0, drawn = 0;
  if (epoch >= 1) {
    Rng rng(L.seed, static_cast<uint64_t>(epoch) + 1, static_cast<uint64_t>(i));
    const uint32_t* rate = L.rate.data();
    const auto t = static_cast<uint32_t>(epoch);
    auto fire = [&](int64_t e) {
      const int32_t tail = L.col[e];
      __builtin_prefetch(others + static_cast<int64_t>(tail) * dims);
      tails[fired++] = tail;
      for (int p = 0; p < n_neg; ++p) {
        const uint32_t neg = rng.below(n_tail);
        __builtin_prefetch(negsrc + static_cast<int64_t>(neg) * dims);
        negs[drawn++] = neg;
      }
    };
    int64_t e = b;
#if defined(__AVX2__)
    const __m256i vt = _mm256_set1_epi32(static_cast<int>(t));
    const __m256i mask = _mm256_set1_epi32(static_cast<int>(kRateOne - 1));
    for (; e + 8 <= end; e += 8) {
      const __m256i r = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rate + e));
      const __m256i frac = _mm256_and_si256(_mm256_mullo_epi32(vt, r), mask);
      // Both sides below 2^31: the signed compare is the unsigned one.
      auto bits = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(r, frac))));
      for (; bits != 0; bits &= bits - 1) fire(e + std::countr_zero(bits));
    }
#endif
    for (; e < end; ++e)
      if (((t * rate[e]) & (kRateOne - 1)) < rate[e]) fire(e);
  }
  out.fired = fired;
  // Padding: the vectorised negative sampling always reads 8 ids.
  std::fill(negs + drawn, negs + drawn + kNegBatch, 0u);
}

/// One edge sample of head point i (entry s of its samples): the attraction to its tail,
/// then its negative samples. `neg_ids` walks the row's negative samples.
/// Tails are read from `others`; their pulls go to `delta` (the layout itself
/// when fitting, so updates are in place; null when the tails are fixed).
template <int D>
inline void sample_edge(const SgdState& L, int64_t i, float* cur, const RowSamples& samples, size_t s,
                        const uint32_t*& neg_ids, float alpha, const float* others,
                        const float* negsrc, float* delta) {
  const int dims = D > 0 ? D : L.dims;
  const float a = L.a, b = L.b, gamma = L.gamma;
  const int64_t k = samples.tails[s];
  const float* other = others + k * dims;
  // Attraction along the edge: the gradient of log(1 / (1 + a d^2b)).
  const float d2 = rdist<D>(cur, other, dims);
  float gc = 0;
  if (d2 > 0) {
    const float p = fast_pow(d2, b);
    gc = -2.0f * a * b * p / (d2 * (a * p + 1.0f));
  }
  for (int j = 0; j < dims; ++j) {
    const float g = clip4(gc * (cur[j] - other[j])) * alpha;
    cur[j] += g;
    if (delta) delta[k * dims + j] -= g;
  }

  // Repulsion from the uniformly drawn points.
  const int n_neg = L.negative_rate;
  for (int p0 = 0; p0 < n_neg; p0 += kNegBatch) {
    const int m = std::min(kNegBatch, n_neg - p0);
    const uint32_t* rs = neg_ids + p0;  // the samples are padded: 8 ids are always readable
#if defined(__AVX2__) && defined(__FMA__)
    if constexpr (D > 0) {
      negative_batch_avx2<D>(cur, negsrc, rs, m, delta ? static_cast<uint32_t>(i) : ~0u, a, b,
                             gamma, alpha);
      continue;
    }
#endif
    float move[16] = {};
    std::vector<float> big;
    float* mv = move;
    if (dims > 16) {
      big.assign(dims, 0.0f);
      mv = big.data();
    }
    for (int q = 0; q < m; ++q) {
      if (delta && rs[q] == i) continue;  // a point does not repel itself
      const float* neg = negsrc + static_cast<int64_t>(rs[q]) * dims;
      const float nd2 = rdist<D>(cur, neg, dims);
      if (nd2 > 0) {
        const float pw = fast_pow(nd2, b);
        const float rc = 2.0f * gamma * b / ((0.001f + nd2) * (a * pw + 1.0f));
        for (int j = 0; j < dims; ++j) mv[j] += clip4(rc * (cur[j] - neg[j]));
      } else {
        // Coincident points push by the clip value (umap-learn's grad_d = 4).
        for (int j = 0; j < dims; ++j) mv[j] += 4.0f;
      }
    }
    for (int j = 0; j < dims; ++j) cur[j] += mv[j] * alpha;
  }
  neg_ids += n_neg;
}

/// Moves head points [lo_row, hi_row). The range is split in two halves walked
/// in lockstep, one edge sample of each in turn: the two points' update chains
/// are independent, so the CPU overlaps their latencies. (Each point still
/// sees its own samples in edge order, as in umap-learn.)
template <int D>
void epoch_rows(SgdState& L, int epoch, float alpha, float* head, const float* others,
                const float* negsrc, float* delta, int64_t lo_row, int64_t hi_row) {
  const int dims = D > 0 ? D : L.dims;
  const int64_t half = (hi_row - lo_row + 1) / 2;
  // rows[slot][lane]: slot alternates between the pair being moved and the next pair.
  RowSamples rows[2][2];
  auto draw_pair = [&](int64_t t, int slot) {
    draw_samples<D>(L, lo_row + t, epoch, others, negsrc, rows[slot][0]);
    if (lo_row + half + t < hi_row) draw_samples<D>(L, lo_row + half + t, epoch, others, negsrc, rows[slot][1]);
    else rows[slot][1].fired = 0;
  };
  if (half > 0) draw_pair(0, 0);
  for (int64_t t = 0; t < half; ++t) {
    const int slot = static_cast<int>(t & 1);
    if (t + 1 < half) draw_pair(t + 1, slot ^ 1);
    const RowSamples& pa = rows[slot][0];
    const RowSamples& pb = rows[slot][1];
    const int64_t ia = lo_row + t, ib = lo_row + half + t;
    float* ca = head + ia * dims;
    float* cb = head + ib * dims;
    const uint32_t* na = pa.negs.data();
    const uint32_t* nb = pb.negs.data();
    const size_t sa = pa.fired, sb = pb.fired;
    for (size_t s = 0; s < std::max(sa, sb); ++s) {
      if (s < sa) sample_edge<D>(L, ia, ca, pa, s, na, alpha, others, negsrc, delta);
      if (s < sb) sample_edge<D>(L, ib, cb, pb, s, nb, alpha, others, negsrc, delta);
    }
  }
}

}  // namespace

void SgdState::epoch(int epoch_index, float alpha, float* head, const float* tail) {
  const int64_t nd = n_head * dims;
  // Small graphs run on one thread: an epoch there takes well under a
  // millisecond, less than waking and synchronising a team on a busy machine.
  const int64_t edges = row_ptr.empty() ? 0 : row_ptr.back();
  const int max_threads = edges >= kParallelEdges ? omp_get_max_threads() : 1;
  // `o` holds the tails, `ng` the negative samples' positions.
  auto rows = [&](float* h, const float* o, const float* ng, float* d, int64_t lo, int64_t hi) {
    switch (dims) {
      case 2: epoch_rows<2>(*this, epoch_index, alpha, h, o, ng, d, lo, hi); break;
      case 3: epoch_rows<3>(*this, epoch_index, alpha, h, o, ng, d, lo, hi); break;
      default: epoch_rows<0>(*this, epoch_index, alpha, h, o, ng, d, lo, hi); break;
    }
  };

  if (!move_other) {
    // Transform: tails are fixed, so rows are independent and move in place.
#pragma omp parallel num_threads(max_threads)
    {
      const int nt = omp_get_num_threads(), t = omp_get_thread_num();
      rows(head, tail, tail, nullptr, n_head * t / nt, n_head * (t + 1) / nt);
    }
    return;
  }
  if (max_threads == 1) {
    // One thread: exactly umap-learn's in-place updates.
    rows(head, head, head, head, 0, n_head);
    return;
  }

  // Several threads: each moves its own copy of the layout in place, over its
  // share of head points, one sub-step at a time. After each sub-step the
  // copies are merged (a point takes its owner's position plus the pulls other
  // threads gave it as a tail, summed in thread order) and handed out again.
  // Negative samples are read from the merged layout, which no thread writes
  // during a sub-step: one copy of the layout in cache for all threads instead
  // of one each (they are ~5 of every 6 random reads).
  views.resize(max_threads);
  base.assign(head, head + nd);
#pragma omp parallel num_threads(max_threads)
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t lo = n_head * t / nt, hi = n_head * (t + 1) / nt;
    std::vector<float>& view = views[t];
    for (int sub = 0; sub < kSubSteps; ++sub) {
      view.assign(head, head + nd);
      const int64_t slo = lo + (hi - lo) * sub / kSubSteps;
      const int64_t shi = lo + (hi - lo) * (sub + 1) / kSubSteps;
      rows(view.data(), view.data(), head, view.data(), slo, shi);
#pragma omp barrier
      // Merge the points this thread owns (its rows), reading every view; only
      // this thread reads or writes base and head there.
      for (int64_t x = lo * dims; x < hi * dims; ++x) {
        float v = view[x];
        for (int u = 0; u < nt; ++u)
          if (u != t) v += views[u][x] - base[x];
        head[x] = v;
        base[x] = v;
      }
#pragma omp barrier
    }
  }
}

namespace {

class UmapCpu final : public Reducer {
 public:
  explicit UmapCpu(UmapPlan plan)
      : y_(std::move(plan.initial)),
        sgd_(std::move(plan.graph.row_ptr), std::move(plan.graph.col), std::move(plan.schedule),
             plan.n(), plan.params.dims),
        schedule_{.params = plan.params} {
    sgd_.a = static_cast<float>(plan.a);
    sgd_.b = static_cast<float>(plan.b);
    sgd_.gamma = static_cast<float>(plan.params.repulsion_strength);
    sgd_.move_other = true;
    sgd_.seed = plan.params.seed;
  }

  int64_t total_steps() const override { return schedule_.n_epochs(); }
  int64_t steps_done() const override { return done_; }
  void step() override {
    if (done()) return;
    sgd_.epoch(static_cast<int>(done_), schedule_.learning_rate(done_), y_.data(), nullptr);
    ++done_;
  }
  ConstView embedding() override { return y_.view(); }
  Backend backend() const override { return Backend::cpu; }

 private:
  Matrix y_;
  SgdState sgd_;
  const UmapPlan schedule_;  // the plan's parameters, for the learning-rate schedule
  int64_t done_ = 0;
};

}  // namespace

}  // namespace prism::umap

namespace prism {

std::unique_ptr<Reducer> make_umap_cpu(UmapPlan plan) {
  return std::make_unique<umap::UmapCpu>(std::move(plan));
}

}  // namespace prism
