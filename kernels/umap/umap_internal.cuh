#pragma once
// Stages of the GPU UMAP, split as cuML's cpp/src/umap:
//   fuzzy graph  the CPU's umap_fuzzy_graph (smooth_knn_dist + fuzzy union:
//                O(N k), a small share of the time) and pruning, in umap.cu
//   spectral.cu  spectral initialisation by subspace iteration on the GPU
//   sgd.cu       epochs of SGD with negative sampling on the epochs-per-sample
//                schedule (optimize_layout_euclidean)
//   umap.cu      the Reducer
#include <cstdint>
#include <vector>

#include "core/context.cuh"
#include "prism/umap.hpp"

namespace prism::cuda::detail {

/// The dims leading non-trivial eigenvectors of D^-1/2 W D^-1/2 (the smallest
/// of the normalised Laplacian, as umap-learn's spectral_layout) for a
/// symmetric CSR graph, by Chebyshev-filtered block subspace iteration with
/// Cholesky-QR and Rayleigh-Ritz, in double, until the wanted Ritz pairs'
/// residuals are below 1e-5 or `iterations` outer steps (17 sparse products
/// each) are done. Disconnected components are not laid out separately.
/// Returns false when the iteration breaks down or ends with residuals above
/// 1e-3 (the caller falls back to another layout). out: n x dims.
bool spectral_init_device(Context& ctx, const FuzzyGraph& g, int dims, uint64_t seed,
                          int iterations, std::vector<float>& out);

/// The SGD state on the device: edges in CSR order with their heads, and the
/// per-edge sampling clocks.
struct SgdState {
  int64_t n = 0;
  int64_t edges = 0;
  int dims = 2;
  DeviceBuffer<int32_t> head, tail;
  DeviceBuffer<float> epochs_per_sample, next_sample, epochs_per_negative, next_negative;
  DeviceBuffer<long long> grad_fixed;  ///< deterministic mode: n x dims accumulator
  float a = 1.577f, b = 0.895f, gamma = 1.f;
  uint64_t seed = 0;
  bool deterministic = false;
};

/// Sizes every buffer of `s` (n, edges, dims and deterministic set) from
/// plan::plan_umap's "sgd" stage; the layout is the caller's (n x dims).
void allocate_sgd_state(Context& ctx, SgdState& s);

/// One epoch (index from 0) with learning rate alpha, updating y (n x dims).
/// Non-deterministic mode: Hogwild updates with float atomics, as cuML.
/// Deterministic mode: positions are read as they were at the epoch start and
/// every gradient is rounded to a 2^-32 fixed-point grid before an integer
/// atomic add (order-independent), then applied after the epoch.
void launch_sgd_epoch(Context& ctx, SgdState& s, float* y, int epoch, float alpha);

}  // namespace prism::cuda::detail
