#pragma once
// PCA's device entry point with explicit choices, for tests and benchmarks.
#include "core/context.cuh"
#include "prism/pca.hpp"

namespace prism::cuda::detail {

struct PcaOptions {
  /// Rows uploaded per step (0: plan::plan_pca's, 512 MiB of centred doubles);
  /// tests force a few rows to exercise the multi-chunk path.
  int64_t chunk_rows = 0;
};

PcaModel fit_pca_device(Context& ctx, ConstView x, const PcaParams& params,
                        const PcaOptions& options, Progress* progress);

}  // namespace prism::cuda::detail
