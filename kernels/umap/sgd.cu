// UMAP's SGD epoch on the GPU: one thread per edge (umap-learn's
// optimize_layout_euclidean loop body; cuML's optimize_batch_kernel), with
// counter-based random negatives so the draws do not depend on scheduling.
#include "core/rng.cuh"
#include "plan/memory_plan.hpp"
#include "umap/umap_internal.cuh"

namespace prism::cuda::detail {
namespace {

constexpr int kBlock = 256;
constexpr double kFixedScale = 4294967296.0;  // 2^32: the deterministic grid

__device__ inline float clip4(float v) { return fminf(fmaxf(v, -4.f), 4.f); }

template <int D, bool kDeterministic>
__device__ inline void apply(float* y, long long* acc, int64_t idx, float g) {
  if constexpr (kDeterministic)
    atomicAdd(reinterpret_cast<unsigned long long*>(acc + idx),
              static_cast<unsigned long long>(__double2ll_rn(static_cast<double>(g) * kFixedScale)));
  else
    atomicAdd(y + idx, g);
}

template <int D, bool kDeterministic>
__global__ void sgd_epoch_kernel(const int32_t* __restrict__ head, const int32_t* __restrict__ tail,
                                 const float* __restrict__ eps, float* __restrict__ next_sample,
                                 const float* __restrict__ eps_neg, float* __restrict__ next_neg,
                                 int64_t edges, int64_t n, float* y, long long* acc, float a,
                                 float b, float gamma, float alpha, int epoch, uint64_t seed) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= edges) return;
  const float fepoch = static_cast<float>(epoch);
  if (!(next_sample[e] <= fepoch) || eps[e] <= 0.f) return;
  const int64_t i = head[e], k = tail[e];
  float cur[D], oth[D];
  for (int d = 0; d < D; ++d) {
    cur[d] = y[i * D + d];
    oth[d] = y[k * D + d];
  }
  float d2 = 0.f;
  for (int d = 0; d < D; ++d) d2 += (cur[d] - oth[d]) * (cur[d] - oth[d]);
  float gc = 0.f;
  if (d2 > 0.f) {
    const float p = __powf(d2, b);
    gc = -2.f * a * b * p / (d2 * (a * p + 1.f));
  }
  for (int d = 0; d < D; ++d) {
    const float g = clip4(gc * (cur[d] - oth[d])) * alpha;
    apply<D, kDeterministic>(y, acc, i * D + d, g);
    apply<D, kDeterministic>(y, acc, k * D + d, -g);
    if constexpr (!kDeterministic) cur[d] += g;  // Hogwild: later terms see the move
  }
  next_sample[e] += eps[e];

  const int n_neg = static_cast<int>((fepoch - next_neg[e]) / eps_neg[e]);
  const uint64_t stream = static_cast<uint64_t>(epoch) * static_cast<uint64_t>(edges) + e;
  for (int p = 0; p < n_neg; ++p) {
    const int64_t r = random_below(seed, stream, p, static_cast<uint32_t>(n));
    if (r == i) continue;  // a point does not repel itself
    float nd2 = 0.f, diff[D];
    for (int d = 0; d < D; ++d) {
      diff[d] = cur[d] - y[r * D + d];
      nd2 += diff[d] * diff[d];
    }
    for (int d = 0; d < D; ++d) {
      float g;
      if (nd2 > 0.f) {
        const float pw = __powf(nd2, b);
        const float rc = 2.f * gamma * b / ((0.001f + nd2) * (a * pw + 1.f));
        g = clip4(rc * diff[d]) * alpha;
      } else {
        g = 4.f * alpha;  // coincident points: umap-learn pushes by the clip value
      }
      apply<D, kDeterministic>(y, acc, i * D + d, g);
      if constexpr (!kDeterministic) cur[d] += g;
    }
  }
  if (n_neg > 0) next_neg[e] += n_neg * eps_neg[e];
}

__global__ void apply_fixed_kernel(float* __restrict__ y, long long* __restrict__ acc,
                                   int64_t count) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= count) return;
  y[t] += static_cast<float>(static_cast<double>(acc[t]) / kFixedScale);
  acc[t] = 0;
}

template <int D>
void launch_dims(Context& ctx, SgdState& s, float* y, int epoch, float alpha) {
  const unsigned grid = grid_for(s.edges, kBlock);
  if (s.deterministic)
    sgd_epoch_kernel<D, true><<<grid, kBlock, 0, ctx.stream()>>>(
        s.head.data(), s.tail.data(), s.epochs_per_sample.data(), s.next_sample.data(),
        s.epochs_per_negative.data(), s.next_negative.data(), s.edges, s.n, y,
        s.grad_fixed.data(), s.a, s.b, s.gamma, alpha, epoch, s.seed);
  else
    sgd_epoch_kernel<D, false><<<grid, kBlock, 0, ctx.stream()>>>(
        s.head.data(), s.tail.data(), s.epochs_per_sample.data(), s.next_sample.data(),
        s.epochs_per_negative.data(), s.next_negative.data(), s.edges, s.n, y, nullptr, s.a, s.b,
        s.gamma, alpha, epoch, s.seed);
  PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
}

}  // namespace

void allocate_sgd_state(Context& ctx, SgdState& s) {
  const plan::UmapMemoryPlan p = plan::plan_umap(s.n, s.edges, s.dims, s.deterministic);
  s.head.reset(ctx, p.edges, "UMAP edges");
  s.tail.reset(ctx, p.edges, "UMAP edges");
  s.epochs_per_sample.reset(ctx, p.edges, "UMAP schedule");
  s.next_sample.reset(ctx, p.edges, "UMAP schedule");
  s.epochs_per_negative.reset(ctx, p.edges, "UMAP schedule");
  s.next_negative.reset(ctx, p.edges, "UMAP schedule");
  if (p.deterministic) {
    s.grad_fixed.reset(ctx, checked_mul(p.n, p.dims), "UMAP deterministic gradients");
    s.grad_fixed.fill_zero();
  }
}

void launch_sgd_epoch(Context& ctx, SgdState& s, float* y, int epoch, float alpha) {
  if (s.edges == 0) return;
  // The state must be the plan's (allocate_sgd_state): a short array would be overrun.
  PRISM_CHECK(s.head.size() == s.edges && s.tail.size() == s.edges &&
                  s.epochs_per_sample.size() == s.edges && s.next_sample.size() == s.edges &&
                  s.epochs_per_negative.size() == s.edges && s.next_negative.size() == s.edges &&
                  (!s.deterministic || s.grad_fixed.size() == checked_mul(s.n, s.dims)),
              "UMAP SGD state does not match its plan (", s.edges, " edges)");
  switch (s.dims) {
    case 2: launch_dims<2>(ctx, s, y, epoch, alpha); break;
    case 3: launch_dims<3>(ctx, s, y, epoch, alpha); break;
    default: PRISM_EXPECTS(false, "GPU UMAP embeds in 2 or 3 dimensions, got ", s.dims);
  }
  if (s.deterministic) {
    const int64_t count = checked_mul(s.n, s.dims);
    apply_fixed_kernel<<<grid_for(count, kBlock), kBlock, 0, ctx.stream()>>>(
        y, s.grad_fixed.data(), count);
    PRISM_CUDA_LAUNCH_CHECK(ctx.stream());
  }
}

}  // namespace prism::cuda::detail
