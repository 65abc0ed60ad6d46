// Picks the CPU or the CUDA implementation (one file per family, so a test
// linking one family does not pull the others).
#include "prism/umap.hpp"

#ifdef PRISM_HAVE_CUDA
#include "prism/cuda/api.hpp"
#endif

namespace prism {

UmapPlan plan_umap(const KnnGraph& graph, const Matrix* initial, const UmapParams& params,
                   const Progress* progress) {
#ifdef PRISM_HAVE_CUDA
  if (resolve_backend(params.backend) == Backend::cuda)
    return make_umap_plan(graph, initial, params, cuda::umap_spectral_layout);
#else
  resolve_backend(params.backend);
#endif
  return make_umap_plan(graph, initial, params,
                        [progress](const FuzzyGraph& g, int dims, uint64_t seed, Matrix& out) {
                          return umap_spectral_layout_cpu(g, dims, seed, out, progress);
                        });
}

std::unique_ptr<Reducer> make_umap(UmapPlan plan) {
#ifdef PRISM_HAVE_CUDA
  if (resolve_backend(plan.params.backend) == Backend::cuda) return cuda::make_umap(std::move(plan));
#else
  resolve_backend(plan.params.backend);
#endif
  return make_umap_cpu(std::move(plan));
}

std::unique_ptr<Reducer> make_umap(const KnnGraph& graph, const Matrix* initial, const UmapParams& params) {
  return make_umap(plan_umap(graph, initial, params));
}

}  // namespace prism
