// Picks the CPU or the CUDA implementation (one file per family, so a test
// linking one family does not pull the others).
#include "prism/tsne.hpp"

#include <utility>

#ifdef PRISM_HAVE_CUDA
#include "prism/cuda/api.hpp"
#endif

namespace prism {

std::unique_ptr<Reducer> make_tsne(const KnnGraph& g, const TsnePlan& plan) {
#ifdef PRISM_HAVE_CUDA
  if (resolve_backend(plan.params.backend) == Backend::cuda) {
    plan.method_on(Backend::cuda);  // throws for fft: the GPU has Barnes-Hut only
    return cuda::make_tsne(g, plan);
  }
#else
  resolve_backend(plan.params.backend);
#endif
  return make_tsne_cpu(g, plan);
}

std::unique_ptr<Reducer> make_tsne(KnnGraph&& g, const TsnePlan& plan) {
  // Only the CPU reducer can use the graph's storage; the GPU copies it anyway.
  if (resolve_backend(plan.params.backend) == Backend::cpu) return make_tsne_cpu(std::move(g), plan);
  return make_tsne(std::as_const(g), plan);
}

std::unique_ptr<Reducer> make_tsne(const KnnGraph& graph, const Matrix* initial, const TsneParams& params) {
  return make_tsne(graph, plan_tsne(graph, initial, params));
}

}  // namespace prism
