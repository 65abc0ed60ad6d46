#pragma once
// What a reduction or a kNN graph will allocate on the host, estimated from
// the shape and the parameters before any work, so that a job that cannot fit
// fails at once with the figure and what to try, instead of being killed after
// minutes of work. The input itself is not counted: it is already loaded, or
// memory-mapped (a float32 .npy), whose pages the kernel can drop and re-read.
// The figures follow the allocations of the CPU code (engine/src/{knn,pca,tsne,
// umap}); they are estimates of the peak within some tens of percent, large
// buffers only. GPU memory is not counted (the CUDA backend checks its own).
#include <cstdint>

#include "prism/memory.hpp"
#include "prism/pipeline.hpp"

namespace prism {

/// The kNN graph of n x d vectors with `params` (and what building it takes).
MemoryEstimate estimate_knn_memory(int64_t n, int64_t d, const KnnParams& params);

/// prepare_reduction + the optimiser for an n x d input: the largest of its
/// stages (pre-reduction, kNN graph, affinities or fuzzy graph, initial layout,
/// optimiser), each with what is still alive then, plus the output.
MemoryEstimate estimate_reduction_memory(int64_t n, int64_t d, const ReduceParams& params);

/// Throws RuntimeError when estimate_knn_memory does not fit memory_budget();
/// the message gives the figure, its parts, the budget and what to try.
void check_knn_memory(int64_t n, int64_t d, const KnnParams& params);

/// The same for a reduction: called at the top of prepare_reduction.
void check_reduction_memory(ConstView x, const ReduceParams& params);

}  // namespace prism
