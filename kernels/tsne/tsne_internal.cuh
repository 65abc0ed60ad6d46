#pragma once
// Stages of the GPU Barnes-Hut t-SNE, one file each (mirroring engine/src/tsne):
//   affinities.cu  perplexity calibration and P symmetrisation
//   tree.cu        fixed-depth Morton quadtree (2D) / octree (3D)
//   forces.cu      attractive forces, Barnes-Hut repulsion, KL terms
//   update.cu      delta-bar-delta step with momentum, re-centring
//   tsne.cu        the Reducer
// Positions are float, n x dims row-major on the device; gradients follow the
// CPU version's convention (grad_i = exaggeration * attr_i - rep_i / Z).
#include <cstdint>

#include "core/context.cuh"
#include "prism/tsne.hpp"

namespace prism::cuda::detail {

/// Joint probabilities P on the device, CSR, columns sorted per row, sum 1.
struct DeviceP {
  int64_t n = 0;
  int64_t nnz = 0;
  DeviceBuffer<int64_t> row_ptr;  ///< n + 1
  DeviceBuffer<int32_t> col;      ///< nnz
  DeviceBuffer<float> val;        ///< nnz
};

/// As the CPU's tsne_affinities: per-row bisection on beta so the entropy of
/// P_.|i is log(min(perplexity, k)) over shifted squared distances, then
/// P = (P_j|i + P_i|j) / total, merged by a radix sort (no float atomics).
DeviceP tsne_affinities_device(Context& ctx, const KnnGraph& graph, double perplexity);
/// Copies P back (tests compare it with the CPU's SparseP).
SparseP download_p(Context& ctx, const DeviceP& p);

/// Fixed-depth complete quadtree/octree over the bounding cube of y: level l
/// has 2^(dims*l) cells, stored densely; leaves at `depth` hold sorted point
/// ranges. Rebuilt every iteration: bounding box, Morton codes, CUB radix
/// sort, leaf sums in sorted order, then each level from its children (fixed
/// order: reproducible). Workspaces are allocated once for n points.
class BhTree {
 public:
  BhTree(Context& ctx, int64_t n, int dims);
  void build(const float* y);
  /// rep_i = sum_{j != i} w_ij^2 (y_i - y_j) (n x dims) and, in *z (device),
  /// Z = sum_{i != j} w_ij, w = 1 / (1 + d^2); cells of width/distance < theta
  /// (and not containing i) are summarised by their centre of mass.
  void repulsion(const float* y, double theta, float* rep, double* z);
  int depth() const { return depth_; }

 private:
  Context& ctx_;
  int64_t n_;
  int dims_;
  int depth_;
  int64_t nodes_ = 0, leaves_ = 0, leaf_offset_ = 0;
  DeviceBuffer<float> box_;          // min[3], size
  DeviceBuffer<unsigned char> box_reduced_;  // the reduction's min/max box
  DeviceBuffer<uint32_t> codes_, codes_sorted_;
  DeviceBuffer<int32_t> ids_, order_;
  DeviceBuffer<int32_t> count_;      // per node
  DeviceBuffer<float> sum_;          // per node, dims coordinate sums
  DeviceBuffer<int32_t> leaf_start_; // per leaf, first sorted position
  DeviceBuffer<double> sumq_;        // per point
  DeviceBuffer<unsigned char> sort_temp_, reduce_temp_;
  size_t sort_temp_bytes_ = 0, reduce_temp_bytes_ = 0;
};

/// attr_i = exaggeration * sum_j p_ij w_ij (y_i - y_j) (thread per row).
void launch_attraction(Context& ctx, const DeviceP& p, const float* y, int dims,
                       float exaggeration, float* attr);
/// grad = attr - rep / *z; gains, momentum update, y += update (element-wise).
void launch_gradient_step(Context& ctx, float* y, const float* attr, const float* rep,
                          const double* z, float* update, float* gains, int64_t count,
                          float learning_rate, float momentum, float min_gain);
/// Subtracts the column means (fixed-order block reduction).
void launch_recentre(Context& ctx, float* y, int64_t n, int dims);
/// *out = sum_ij p_ij log(p_ij / w_ij) over P's entries (double, fixed order).
void launch_kl_terms(Context& ctx, const DeviceP& p, const float* y, int dims, double* out);

}  // namespace prism::cuda::detail
